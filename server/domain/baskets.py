"""Basket files: CSV or XLSX with a header row naming identifier, side and quantity columns.

Pure parsing (bytes or text in, lines out); shared by the venue's upload endpoint and the CLI.

Common column names are recognised (cusip / isin / identifier / security, side / direction / b/s,
quantity / qty / size / face / notional / par). Quantities may be written 5mm, 250k, 5,000,000.
Errors say which row, which column and why.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from server.domain.errors import InvalidInput

IDENTIFIER_COLUMNS = ("identifier", "cusip", "isin", "instrument", "security", "security_id", "id", "bond")
SIDE_COLUMNS = ("side", "direction", "b/s", "buy/sell", "buysell", "action")
QUANTITY_COLUMNS = ("quantity", "qty", "size", "face", "face_value", "notional", "par", "amount", "par_amount")
SIDE_WORDS = {"buy": "buy", "b": "buy", "by": "buy", "purchase": "buy",
              "sell": "sell", "s": "sell", "sl": "sell", "sale": "sell"}
_QTY = re.compile(r"^\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*(k|m|mm|mn|mio|bn|b)?\s*$", re.IGNORECASE)
_SCALE = {None: 1, "k": 1_000, "m": 1_000_000, "mm": 1_000_000, "mn": 1_000_000, "mio": 1_000_000,
          "bn": 1_000_000_000, "b": 1_000_000_000}
MAX_ERRORS = 50


def parse_quantity(text: str) -> int:
    """``5mm`` -> 5,000,000; ``250k`` -> 250,000; ``1,000,000`` -> 1,000,000. Raises ValueError."""
    m = _QTY.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a quantity (try 5000000, 5,000,000, 5mm or 250k)")
    number = float(m.group(1).replace(",", "").replace("_", ""))
    value = number * _SCALE[m.group(2).lower() if m.group(2) else None]
    if value != int(value):
        raise ValueError(f"{text!r} is not a whole number of USD face")
    if value <= 0:
        raise ValueError(f"{text!r} must be positive")
    return int(value)


def parse_side(text: str) -> str:
    side = SIDE_WORDS.get(str(text).strip().lower())
    if side is None:
        raise ValueError(f"{text!r} is not buy or sell")
    return side


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    norm = [h.strip().lower().replace(" ", "_") for h in header]
    for name in names:
        if name in norm:
            return norm.index(name)
    return None


def rows_to_lines(header: list[str], rows: list[list[Any]], *, source: str,
                  first_row: int = 2, rows_out: list[int] | None = None) -> list[dict[str, Any]]:
    """Turn a header and rows (from CSV or a spreadsheet) into basket lines; raise InvalidInput
    listing every bad cell."""
    cols = {"identifier": _find(header, IDENTIFIER_COLUMNS), "side": _find(header, SIDE_COLUMNS),
            "quantity": _find(header, QUANTITY_COLUMNS)}
    missing = [k for k, v in cols.items() if v is None]
    if missing:
        raise InvalidInput(f"{source}: the header row {header!r} has no {', '.join(missing)} column "
                           f"(e.g. identifier/cusip/isin, side, quantity/size/face)", field="file")
    errors: list[dict[str, str]] = []
    lines: list[dict[str, Any]] = []
    for n, row in enumerate(rows, start=first_row):
        if not any(str(c).strip() for c in row if c is not None):
            continue  # blank rows are allowed
        line: dict[str, Any] = {}
        for name, col in cols.items():
            assert col is not None
            cell = row[col] if col < len(row) else None
            cell_text = "" if cell is None else str(cell).strip()
            where = f"{source}: row {n}, column {header[col].strip()!r}"
            try:
                if not cell_text:
                    raise ValueError("is empty")
                if name == "identifier":
                    line["instrument"] = cell_text.upper()
                elif name == "side":
                    line["side"] = parse_side(cell_text)
                else:
                    line["quantity"] = parse_quantity(cell_text)
            except ValueError as exc:
                errors.append({"field": f"file:row {n}:{name}", "reason": f"{where}: {exc}"})
        if len(line) == 3:
            lines.append(line)
            if rows_out is not None:
                rows_out.append(n)
    if errors:
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InvalidInput(errors[0]["reason"] + more, field=errors[0]["field"],
                           details={"errors": errors[:MAX_ERRORS], "error_count": len(errors)})
    if not lines:
        raise InvalidInput(f"{source}: no lines after the header row", field="file")
    return lines


def parse_basket_csv(text: str, *, source: str = "file", rows_out: list[int] | None = None
                     ) -> list[dict[str, Any]]:
    """Lines of a CSV basket; ``rows_out`` (if given) receives each line's row number in the file."""
    if not text.strip():
        raise InvalidInput(f"{source}: the file is empty", field="file")
    first_line = text.lstrip().splitlines()[0]
    delimiter = max(",;\t|", key=first_line.count)  # the header row's most frequent separator
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"{source}: not a readable CSV file: {exc}", field="file") from None
    return rows_to_lines(header, rows, source=source, rows_out=rows_out)


def parse_basket_xlsx(data: bytes, *, source: str = "file", rows_out: list[int] | None = None
                      ) -> list[dict[str, Any]]:
    """The first worksheet: the first non-empty row is the header."""
    import openpyxl  # only needed for spreadsheets

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InvalidInput(f"{source}: not a readable XLSX workbook ({type(exc).__name__})", field="file") from None
    try:
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    start = next((i for i, r in enumerate(rows) if any(c not in (None, "") for c in r)), None)
    if start is None:
        raise InvalidInput(f"{source}: the worksheet is empty", field="file")
    header = ["" if c is None else str(c) for c in rows[start]]
    body = [[_cell(c) for c in r] for r in rows[start + 1:]]
    return rows_to_lines(header, body, source=source, first_row=start + 2, rows_out=rows_out)


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # spreadsheets store 5000000 as 5000000.0
    return value


def parse_basket_file(data: bytes, *, filename: str = "file", rows_out: list[int] | None = None
                      ) -> list[dict[str, Any]]:
    """CSV or XLSX, told apart by content (an XLSX file is a ZIP archive) rather than by name."""
    if data[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm")):
        return parse_basket_xlsx(data, source=filename, rows_out=rows_out)
    return parse_basket_csv(data.decode("utf-8-sig", errors="replace"), source=filename, rows_out=rows_out)


_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
_COLUMN = {"instrument": "identifier", "side": "side", "quantity": "quantity"}


def locate_in_file(error: InvalidInput, rows: list[int], source: str) -> InvalidInput:
    """The venue's line errors (``lines[7].quantity``) restated as the file's rows and columns."""

    def where(field: str | None, reason: str) -> tuple[str | None, str]:
        m = _LINE_FIELD.match(field or "")
        if m is None or int(m.group(1)) >= len(rows):
            return field, reason
        row, column = rows[int(m.group(1))], _COLUMN.get(m.group(2), m.group(2))
        return f"file:row {row}:{column}", f"{source}: row {row}, column {column}: {reason}"

    field, reason = where(error.field, error.reason)
    details = dict(error.details)
    errors = details.get("errors")
    if isinstance(errors, list):
        details["errors"] = [dict(zip(("field", "reason"), where(e.get("field"), e.get("reason", "")), strict=True))
                             for e in errors]
    return InvalidInput(reason, field=field, code=error.code, details=details)
