"""Security identifiers: CUSIP and ISIN check digits, validation and normalization.

Validators strip surrounding whitespace, uppercase, and return the normalized identifier; any
defect raises :class:`InvalidInput` naming the field and what is wrong.
"""

from __future__ import annotations

import string

from server.domain.errors import InvalidInput

_CUSIP_SPECIAL = {"*": 36, "@": 37, "#": 38}
_CUSIP_CHARS = frozenset(string.digits + string.ascii_uppercase + "".join(_CUSIP_SPECIAL))
_ALNUM = frozenset(string.digits + string.ascii_uppercase)

CUSIP_LENGTH = 9
ISIN_LENGTH = 12


def _cusip_char_value(ch: str) -> int:
    if ch in string.digits:
        return int(ch)
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    if ch in _CUSIP_SPECIAL:
        return _CUSIP_SPECIAL[ch]
    raise ValueError(f"invalid CUSIP character {ch!r}")


def cusip_check_digit(base8: str) -> str:
    """Check digit of an 8-character CUSIP base (modulus 10 "double add double").

    Raises ``ValueError`` if ``base8`` is not 8 valid CUSIP characters.
    """
    base = base8.upper()
    if len(base) != 8:
        raise ValueError(f"CUSIP base must have 8 characters, got {len(base)}")
    total = 0
    for i, ch in enumerate(base):
        v = _cusip_char_value(ch)
        if i % 2 == 1:
            v *= 2
        total += v // 10 + v % 10
    return str((10 - total % 10) % 10)


def make_cusip(base8: str) -> str:
    """The 9-character CUSIP: ``base8`` (uppercased) followed by its check digit."""
    return base8.upper() + cusip_check_digit(base8)


def _normalize(value: object, field: str, kind: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{kind} must be a string", field=field)
    return value.strip().upper()


def validate_cusip(value: str, field: str = "cusip") -> str:
    """Normalized CUSIP (stripped, uppercased) or :class:`InvalidInput`."""
    cusip = _normalize(value, field, "CUSIP")
    if len(cusip) != CUSIP_LENGTH:
        raise InvalidInput(
            f"CUSIP {cusip!r} has {len(cusip)} characters; a CUSIP has {CUSIP_LENGTH}",
            field=field,
            details={"value": cusip},
        )
    bad = sorted({ch for ch in cusip[:8] if ch not in _CUSIP_CHARS})
    if bad:
        raise InvalidInput(
            f"CUSIP {cusip} contains invalid characters {''.join(bad)!r}; "
            "allowed are 0-9, A-Z, '*', '@', '#'",
            field=field,
            details={"value": cusip},
        )
    if cusip[8] not in string.digits:
        raise InvalidInput(
            f"CUSIP {cusip} has check character {cusip[8]!r}; the check character must be a digit",
            field=field,
            details={"value": cusip},
        )
    expected = cusip_check_digit(cusip[:8])
    if cusip[8] != expected:
        raise InvalidInput(
            f"CUSIP {cusip} has check digit {cusip[8]}; expected {expected}",
            field=field,
            details={"value": cusip, "expected_check_digit": expected},
        )
    return cusip


def isin_check_digit(base11: str) -> str:
    """Check digit of an 11-character ISIN base (letters A=10..Z=35, then Luhn).

    Raises ``ValueError`` if ``base11`` is not 11 alphanumeric characters.
    """
    base = base11.upper()
    if len(base) != 11:
        raise ValueError(f"ISIN base must have 11 characters, got {len(base)}")
    if any(ch not in _ALNUM for ch in base):
        raise ValueError(f"ISIN base {base!r} must be alphanumeric")
    digits = "".join(str(int(ch, 36)) for ch in base)
    total = 0
    # The check digit will be appended on the right, so the rightmost digit here is doubled.
    for i, ch in enumerate(reversed(digits)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
        total += v // 10 + v % 10
    return str((10 - total % 10) % 10)


def validate_isin(value: str, field: str = "isin") -> str:
    """Normalized ISIN (stripped, uppercased) or :class:`InvalidInput`."""
    isin = _normalize(value, field, "ISIN")
    if len(isin) != ISIN_LENGTH:
        raise InvalidInput(
            f"ISIN {isin!r} has {len(isin)} characters; an ISIN has {ISIN_LENGTH}",
            field=field,
            details={"value": isin},
        )
    if not isin[:2].isascii() or not isin[:2].isalpha():
        raise InvalidInput(
            f"ISIN {isin} must start with a 2-letter country code, got {isin[:2]!r}",
            field=field,
            details={"value": isin},
        )
    bad = sorted({ch for ch in isin[2:11] if ch not in _ALNUM})
    if bad:
        raise InvalidInput(
            f"ISIN {isin} contains invalid characters {''.join(bad)!r}; "
            "characters 3-11 must be 0-9 or A-Z",
            field=field,
            details={"value": isin},
        )
    if isin[11] not in string.digits:
        raise InvalidInput(
            f"ISIN {isin} has check character {isin[11]!r}; the check character must be a digit",
            field=field,
            details={"value": isin},
        )
    expected = isin_check_digit(isin[:11])
    if isin[11] != expected:
        raise InvalidInput(
            f"ISIN {isin} has check digit {isin[11]}; expected {expected}",
            field=field,
            details={"value": isin, "expected_check_digit": expected},
        )
    return isin


def cusip_to_isin(cusip: str, country: str = "US") -> str:
    """The ISIN of a (valid) CUSIP: country code + CUSIP + ISIN check digit."""
    normalized = validate_cusip(cusip)
    cc = country.strip().upper()
    if len(cc) != 2 or not cc.isascii() or not cc.isalpha():
        raise InvalidInput(f"country code must be 2 letters, got {country!r}", field="country")
    if any(ch in _CUSIP_SPECIAL for ch in normalized):
        raise InvalidInput(
            f"CUSIP {normalized} contains '*', '@' or '#' and has no ISIN", field="cusip"
        )
    base = cc + normalized
    return base + isin_check_digit(base)


def parse_identifier(value: str, field: str = "identifier") -> tuple[str, str]:
    """``("cusip", normalized)`` or ``("isin", normalized)``, chosen by length (9 or 12)."""
    text = _normalize(value, field, "identifier")
    if len(text) == CUSIP_LENGTH:
        return "cusip", validate_cusip(text, field)
    if len(text) == ISIN_LENGTH:
        return "isin", validate_isin(text, field)
    raise InvalidInput(
        f"identifier {text!r} has {len(text)} characters; a CUSIP has {CUSIP_LENGTH} characters "
        f"and an ISIN {ISIN_LENGTH}",
        field=field,
        details={"value": text},
    )
