"""Reading a basket request: JSON (``lines`` plus fields), a CSV body or a multipart CSV/XLSX upload.

Shared by the portfolio-inquiry and the analytics endpoints, so a basket means the same to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request

from server.domain.baskets import parse_basket_csv, parse_basket_file
from server.domain.errors import InvalidInput

CSV_TYPES = ("text/csv", "text/plain", "application/csv")


@dataclass
class BasketRequest:
    lines: list[Any]  # raw line objects (validated by the caller's model)
    fields: dict[str, Any]  # the request's other fields (JSON members or multipart form fields)
    filename: str | None = None  # the uploaded file's name, for a multipart upload
    rows: list[int] | None = None  # a basket file's row number per line (CSV body or upload)


async def read_basket_request(request: Request) -> BasketRequest:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("", "application/json"):
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"body is not valid JSON: {exc}", field="body") from None
        if not isinstance(data, dict):
            raise InvalidInput("the body is an object with a 'lines' list", field="body")
        lines = data.pop("lines", None)
        if not isinstance(lines, list):
            raise InvalidInput("required: a list of lines" if lines is None else "must be a list of lines",
                               field="lines")
        return BasketRequest(lines, data)
    rows: list[int] = []
    if ctype in CSV_TYPES:
        text = (await request.body()).decode("utf-8-sig", errors="replace")
        return BasketRequest(parse_basket_csv(text, source="body", rows_out=rows), {}, rows=rows)
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("upload the basket as the multipart field 'file'", field="file")
        filename = upload.filename or "file"
        lines = parse_basket_file(await upload.read(), filename=filename, rows_out=rows)
        fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        return BasketRequest(lines, fields, filename, rows)
    raise InvalidInput(f"unsupported content type {ctype!r}: send application/json, text/csv or "
                       "multipart/form-data", field="Content-Type")
