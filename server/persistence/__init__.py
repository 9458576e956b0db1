"""Persistence: the event log (the record), its projections, and the schema migrations."""

from server.persistence.store import EventStore, GroupCommitWriter, StoreConflict, StoreError

__all__ = ["EventStore", "GroupCommitWriter", "StoreConflict", "StoreError"]
