"""Input no route can store: NUL characters. PostgreSQL text and JSONB refuse them (a DataError,
so a 500) and no customer, merchant or provider sends one; refused up front, in the one error
shape, for every route and every place input comes from (path, query, form, JSON)."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request

from backend.domain.errors import InvalidInput

NUL = "\x00"
REFUSAL = "Text may not contain NUL (\\u0000) characters"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _body_has_nul() -> bool:
    if request.mimetype == "multipart/form-data":
        # An upload's files are bytes (a PDF has NULs), read by their route; its fields are
        # text like any form's.
        return _has_nul(request.form.to_dict(flat=False))
    raw = request.get_data(cache=True)
    if b"\x00" in raw:
        return True
    if b"\\u0000" not in raw:  # the escape a JSON body would carry one in
        return False
    try:
        return _has_nul(json.loads(raw))
    except ValueError:
        return False  # not JSON: the route's own parsing answers that


def refuse_nul_characters() -> None:
    if NUL in request.path or "%00" in request.query_string.decode("latin-1") or \
            _has_nul(request.args.to_dict(flat=False)) or _body_has_nul():
        raise InvalidInput(REFUSAL)


def register_input_guard(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
