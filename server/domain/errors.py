"""Errors the venue reports to its participants.

Every rejection names the field at fault and the reason, and carries the HTTP status class the
API maps it to. The engine raises these; adapters translate them (HTTP JSON error, websocket error
frame, FIX reject) without inventing their own wording.
"""

from __future__ import annotations


class VenueError(Exception):
    """A command the venue refuses. Nothing changed."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, reason: str, *, field: str | None = None, code: str | None = None,
                 details: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        if code is not None:
            self.code = code
        self.details = details or {}

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "field": self.field, "reason": self.reason}
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, field={self.field!r}, reason={self.reason!r})"


class InvalidInput(VenueError):
    """The request is malformed or breaks a rule of the instrument or the venue (HTTP 422)."""

    status = 422
    code = "invalid"


class NotFound(VenueError):
    """Unknown to the caller: it does not exist, or the caller may not see it (HTTP 404)."""

    status = 404
    code = "not_found"


class Conflict(VenueError):
    """The request is well formed but the object's state does not allow it (HTTP 409)."""

    status = 409
    code = "conflict"
