"""{count, next, previous, results} from a services Page, with absolute next/previous URLs."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from marshmallow import Schema, fields

from backend.api.fields import Count
from backend.interface import inputs
from backend.services.platform.pages import Page

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
PageQuerySchema = inputs.PageQuerySchema


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """A page schema whose results are `item`s (one named class per resource for OpenAPI)."""
    return Schema.from_dict(
        {
            "count": Count(),
            "next": fields.Str(allow_none=True, metadata={"description": "URL of the next page"}),
            "previous": fields.Str(
                allow_none=True, metadata={"description": "URL of the previous page"}
            ),
            "results": fields.List(fields.Nested(item)),
        },
        name=name,
    )


def _page_url(page: int) -> str:
    """This same listing (same filters) at another page, as an absolute URL."""
    args: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
    return url_for(request.endpoint or "", _external=True, **args)


def paginated(page: Page[Any]) -> dict[str, Any]:
    return {
        "count": page.count,
        "next": _page_url(page.page + 1) if page.has_next else None,
        "previous": _page_url(page.page - 1) if page.has_previous else None,
        "results": page.results,
    }
