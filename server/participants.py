"""Participants and their API keys: loaded from a TOML file, or generated on a first start."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from server.domain.types import Role

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ParticipantsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    role: Role
    api_key: str | None = None  # None: an in-process bot, which needs no key


class Directory:
    """Who may use the venue; looks a key up in constant time per candidate."""

    def __init__(self, participants: list[Participant]) -> None:
        self.participants = {p.id: p for p in participants}
        self._by_digest = {_digest(p.api_key): p for p in participants if p.api_key}

    def authenticate(self, api_key: str) -> Participant | None:
        found = self._by_digest.get(_digest(api_key))
        if found is not None and found.api_key is not None and hmac.compare_digest(found.api_key, api_key):
            return found
        return None

    def roles(self) -> dict[str, Role]:
        return {p.id: p.role for p in self.participants.values()}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def load_participants(path: Path) -> list[Participant]:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ParticipantsError(f"participants file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParticipantsError(f"participants file {path} is not valid TOML: {exc}") from None
    entries = raw.get("participant")
    if not isinstance(entries, list) or not entries:
        raise ParticipantsError(f"{path}: expected one or more [[participant]] tables")
    out: list[Participant] = []
    seen_ids: set[str] = set()
    seen_keys: set[str] = set()
    for n, entry in enumerate(entries, 1):
        where = f"{path}: participant {n}"
        if not isinstance(entry, dict):
            raise ParticipantsError(f"{where}: not a table")
        pid, role, key = entry.get("id"), entry.get("role"), entry.get("api_key")
        if not isinstance(pid, str) or not _ID.match(pid):
            raise ParticipantsError(f"{where}: id must be 1-64 letters, digits, '.', '_' or '-'")
        if role not in ("client", "dealer"):
            raise ParticipantsError(f"{where} ({pid}): role must be 'client' or 'dealer', not {role!r}")
        if not isinstance(key, str) or len(key) < 16:
            raise ParticipantsError(f"{where} ({pid}): api_key must be a string of at least 16 characters")
        if pid in seen_ids:
            raise ParticipantsError(f"{where}: id {pid!r} appears twice")
        if key in seen_keys:
            raise ParticipantsError(f"{where} ({pid}): api_key is already used by another participant")
        seen_ids.add(pid)
        seen_keys.add(key)
        out.append(Participant(pid, Role(role), key))
    return out


def generate_dev_participants(path: Path) -> list[Participant]:
    """Write a participants file with two clients and one remote dealer; return them."""
    people = [Participant("client-1", Role.CLIENT, "c1-" + secrets.token_urlsafe(24)),
              Participant("client-2", Role.CLIENT, "c2-" + secrets.token_urlsafe(24)),
              Participant("dealer-remote", Role.DEALER, "dr-" + secrets.token_urlsafe(24))]
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# rfqsim development participants, generated on first start. Keep this file private.\n"]
    for p in people:
        lines.append(f'\n[[participant]]\nid = "{p.id}"\nrole = "{p.role.value}"\napi_key = "{p.api_key}"\n')
    path.write_text("".join(lines))
    path.chmod(0o600)
    return people
