"""Error reports to Sentry (sentry-sdk), only when SENTRY_DSN is set: no personal data, the same
redaction as the logs, and the request context as tags."""
from __future__ import annotations

import inspect
import os
from typing import Any, Dict, Optional

import sentry_sdk

from observability.logs import current
from observability.redact import redact_value

# Request headers never sent, whatever sentry-sdk's own scrubbing keeps.
_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "signature", "cookie", "phone")


def _scrub_headers(headers: Any) -> Any:
    if not isinstance(headers, dict):
        return headers
    return {name: value for name, value in headers.items()
            if not any(word in name.lower() for word in _SECRET_HEADER_WORDS)}


def before_send(event: Dict[str, Any], _hint: Dict[str, Any]) -> Dict[str, Any]:
    """Tag the event with the request context (the one bound where the error happened wins over
    any tag an earlier scope left), drop secret headers, then redact every string."""
    tags = event.setdefault("tags", {})
    for key, value in current().items():
        if value is not None:
            tags[key] = value
    request = event.get("request")
    if isinstance(request, dict):
        request["headers"] = _scrub_headers(request.get("headers"))
        request.pop("cookies", None)
        request.pop("data", None)
    return redact_value(event)


def _no_personal_data() -> Dict[str, Any]:
    """No user data, request bodies (customers' messages) or local variables (phone numbers),
    in the words of the installed sentry-sdk (2.x's data_collection, older options before)."""
    accepted = inspect.signature(sentry_sdk.consts.ClientConstructor.__init__).parameters
    if "data_collection" in accepted:
        return {"data_collection": {"user_info": False, "http_bodies": [],
                                    "stack_frame_variables": False}}
    if "max_request_body_size" in accepted:
        return {"send_default_pii": False, "max_request_body_size": "never",
                "include_local_variables": False}
    return {"send_default_pii": False, "request_bodies": "never", "with_locals": False}


def init_sentry(service: str, dsn: Optional[str] = None) -> bool:
    """Start error reporting when a DSN is configured; True when it started."""
    dsn = (os.environ.get("SENTRY_DSN", "") if dsn is None else dsn).strip()
    if not dsn:
        return False
    options: Dict[str, Any] = {
        "dsn": dsn,
        "before_send": before_send,
        "before_breadcrumb": lambda crumb, _hint: redact_value(crumb),
        "environment": os.environ.get("SENTRY_ENVIRONMENT") or None,
        "traces_sample_rate": None,
    }
    options.update(_no_personal_data())
    sentry_sdk.init(**options)
    sentry_sdk.set_tag("service", service)
    return True
