from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from server.domain.errors import InvalidInput
from server.domain.identifiers import (
    cusip_check_digit,
    cusip_to_isin,
    isin_check_digit,
    make_cusip,
    parse_identifier,
    validate_cusip,
    validate_isin,
)

CUSIP_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*@#"


def _reference_cusip_check(base8: str) -> str:
    """Straight transcription of the published CUSIP pseudo-code, as an independent oracle."""
    total = 0
    for i, ch in enumerate(base8):
        if ch.isdigit():
            v = int(ch)
        elif ch.isalpha():
            v = ord(ch) - ord("A") + 10
        else:
            v = {"*": 36, "@": 37, "#": 38}[ch]
        if i % 2 == 1:
            v *= 2
        total += v // 10 + v % 10
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize(
    "cusip",
    [
        "037833100",  # Apple common
        "594918104",  # Microsoft common
        "912828X39",  # a Treasury note
        "38259P508",  # Google class A (a letter in the issuer code)
        "254687DC7",
        "023135AG1",
    ],
)
def test_real_cusips_validate(cusip: str) -> None:
    assert validate_cusip(cusip) == cusip
    assert cusip_check_digit(cusip[:8]) == cusip[8] == _reference_cusip_check(cusip[:8])


def test_wrong_check_digit_names_the_expected_one() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_cusip("254687DC3")
    assert exc.value.field == "cusip"
    assert exc.value.status == 422
    assert exc.value.reason == "CUSIP 254687DC3 has check digit 3; expected 7"
    assert exc.value.details["expected_check_digit"] == "7"

    with pytest.raises(InvalidInput, match="expected 1") as exc2:
        validate_cusip("023135AG9", field="legs[3].cusip")
    assert exc2.value.field == "legs[3].cusip"


def test_validate_cusip_normalizes() -> None:
    assert validate_cusip("  254687dc7\n") == "254687DC7"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("03783310", "has 8 characters; a CUSIP has 9"),
        ("0378331000", "has 10 characters; a CUSIP has 9"),
        ("", "has 0 characters"),
        ("03783-100", "invalid characters '-'"),
        ("03783310X", "check character 'X'"),
    ],
)
def test_malformed_cusips_are_rejected(value: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment.replace("*", r"\*")) as exc:
        validate_cusip(value)
    assert exc.value.field == "cusip"


def test_special_characters_are_allowed_in_cusips() -> None:
    cusip = make_cusip("12*4@6#8")
    assert cusip[:8] == "12*4@6#8"
    assert validate_cusip(cusip) == cusip
    assert cusip[8] == _reference_cusip_check("12*4@6#8")


def test_make_cusip_rejects_bad_bases() -> None:
    with pytest.raises(ValueError):
        make_cusip("1234567")
    with pytest.raises(ValueError):
        make_cusip("1234567$")


@given(st.text(alphabet=CUSIP_CHARS, min_size=8, max_size=8), st.integers(1, 9))
def test_make_cusip_always_validates_and_any_other_digit_fails(base: str, shift: int) -> None:
    cusip = make_cusip(base)
    assert validate_cusip(cusip) == cusip
    assert cusip[8] == _reference_cusip_check(base)
    wrong = cusip[:8] + str((int(cusip[8]) + shift) % 10)
    with pytest.raises(InvalidInput, match=f"expected {cusip[8]}$"):
        validate_cusip(wrong)


@given(
    st.text(alphabet=CUSIP_CHARS, min_size=8, max_size=8),
    st.integers(0, 7),
    st.sampled_from("0123456789"),
    st.sampled_from("0123456789"),
)
def test_any_single_digit_substitution_changes_the_check_digit(base: str, pos: int, a: str, b: str) -> None:
    assume(a != b)
    with_a = base[:pos] + a + base[pos + 1 :]
    with_b = base[:pos] + b + base[pos + 1 :]
    assert cusip_check_digit(with_a) != cusip_check_digit(with_b)


def test_isin() -> None:
    assert validate_isin("US0378331005") == "US0378331005"
    assert validate_isin(" us0378331005 ") == "US0378331005"
    assert isin_check_digit("US037833100") == "5"
    assert validate_isin("GB0002634946") == "GB0002634946"  # BAE Systems
    assert validate_isin("DE000BAY0017") == "DE000BAY0017"  # Bayer (letters in the NSIN)
    with pytest.raises(InvalidInput) as exc:
        validate_isin("US0378331006")
    assert exc.value.field == "isin"
    assert exc.value.reason == "ISIN US0378331006 has check digit 6; expected 5"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("US037833100", "has 11 characters; an ISIN has 12"),
        ("1S0378331005", "2-letter country code"),
        ("US03783310-5", "invalid characters '-'"),
        ("US037833100X", "check character 'X'"),
    ],
)
def test_malformed_isins_are_rejected(value: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment) as exc:
        validate_isin(value, field="security")
    assert exc.value.field == "security"


def test_cusip_to_isin() -> None:
    assert cusip_to_isin("037833100") == "US0378331005"
    assert cusip_to_isin("594918104") == "US5949181045"
    assert cusip_to_isin("912828x39", country="us") == validate_isin(cusip_to_isin("912828X39"))
    with pytest.raises(InvalidInput, match="expected 7"):
        cusip_to_isin("254687DC3")


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8, max_size=8))
def test_every_generated_cusip_has_a_valid_isin(base: str) -> None:
    isin = cusip_to_isin(make_cusip(base))
    assert validate_isin(isin) == isin
    assert parse_identifier(isin) == ("isin", isin)


def test_parse_identifier() -> None:
    assert parse_identifier(" 037833100 ") == ("cusip", "037833100")
    assert parse_identifier("us0378331005") == ("isin", "US0378331005")
    with pytest.raises(InvalidInput) as exc:
        parse_identifier("AAPL", field="legs[0].identifier")
    assert exc.value.field == "legs[0].identifier"
    assert "a CUSIP has 9 characters and an ISIN 12" in exc.value.reason
    with pytest.raises(InvalidInput, match="expected 7") as exc2:
        parse_identifier("254687DC3", field="id")
    assert exc2.value.field == "id"
