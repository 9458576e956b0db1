"""Typed exceptions, mapped from the venue's error JSON ``{"error": {"code", "field", "reason", "details"}}``.

=======  ===================================================================
status   exception
=======  ===================================================================
401      :class:`Unauthorized`  (no key, unknown key; also a refused websocket)
403      :class:`Forbidden`     (the participant's role may not do this)
404      :class:`NotFound`      (unknown, or not the caller's)
409      :class:`Conflict`      (:class:`AlreadyAwarded` for ``already_awarded``)
422      :class:`InvalidRequest` (the field at fault and the reason)
503      :class:`Unavailable`   (also: connection refused, timeouts, dropped connections)
other    :class:`VenueError`
=======  ===================================================================
"""

from __future__ import annotations

from typing import Any


class VenueError(Exception):
    """A request the venue refused, or could not answer. Nothing was booked by the refused request."""

    def __init__(self, reason: str, *, status: int = 0, code: str = "error", field: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.field = field
        self.reason = reason
        self.details: dict[str, Any] = details or {}

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Every problem the venue listed (``details.errors``), or this one alone."""
        listed = self.details.get("errors")
        if isinstance(listed, list) and listed:
            return [dict(e) for e in listed if isinstance(e, dict)]
        return [{"field": self.field, "reason": self.reason}]

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        status = f"{self.status} " if self.status else ""
        return f"{status}{self.code}{where}: {self.reason}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, field={self.field!r}, "
                f"reason={self.reason!r})")


class Unauthorized(VenueError):
    """401: no API key, or one the venue does not know."""


class Forbidden(VenueError):
    """403: the participant's role may not do this (a dealer creating an RFQ, say)."""


class NotFound(VenueError):
    """404: no such object, or not visible to the caller."""


class Conflict(VenueError):
    """409: the object's state does not allow it (``quote_withdrawn``, ``inquiry_expired``,
    ``idempotency_key_reused``, ...)."""


class AlreadyAwarded(Conflict):
    """409 ``already_awarded``: the inquiry has its trade already; :attr:`trade_id` names it."""

    @property
    def trade_id(self) -> str | None:
        value = self.details.get("trade_id")
        return value if isinstance(value, str) else None


class InvalidRequest(VenueError):
    """422: invalid input. :attr:`field` names it (``quantity``, ``lines[3].instrument``,
    ``file:row 7:side``); :attr:`errors` lists every problem found."""


class Unavailable(VenueError):
    """503, or the venue could not be reached (connection refused, timeout, dropped connection),
    after the client's retries."""


class ServerError(VenueError):
    """500: the venue failed unexpectedly; nothing was booked unless the trade shows in ``trades()``."""


_BY_STATUS: dict[int, type[VenueError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
                                           422: InvalidRequest, 503: Unavailable}


def error_from_response(status: int, body: Any, *, fallback: str = "") -> VenueError:
    """The typed exception for an HTTP error response (``body`` is the decoded JSON, if any)."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code = str(err.get("code") or "error")
        field = err.get("field")
        reason = str(err.get("reason") or fallback or f"HTTP {status}")
        details = err.get("details") if isinstance(err.get("details"), dict) else None
    else:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid",
                503: "unavailable"}.get(status, "error")
        field = None
        reason = fallback or f"HTTP {status}"
        details = None
    if status == 409 and code == "already_awarded":
        cls: type[VenueError] = AlreadyAwarded
    elif status >= 500 and status != 503:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, VenueError)
    return cls(reason, status=status, code=code, field=field if isinstance(field, str) else None, details=details)
