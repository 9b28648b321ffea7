"""The web app's blueprint and what every page shares: who is signed in (the API's session
cookie and CSRF token, backend/services/accounts/sessions.py), the scope each page declares
(`@requires`, the same declaration and the same scopes as the API's routes), the language, and
rendering with the words, money and dates formatted for the shop.

A browser signs in once (backend/web/auth_pages.py): the session cookie is the API's `wca_session`
(HttpOnly, SameSite=Lax) and the login's CSRF token is kept in a second HttpOnly cookie,
`wca_csrf`, only so the server can put it into every form it renders; a POST is accepted when
its `csrf_token` field (or an X-CSRF-Token header, for htmx) matches the session's stored hash,
the API's own check (`csrf_matches`). The forms of people not signed in yet (accepting an
invitation, resetting a password) carry a token bound to a random HttpOnly cookie, `wca_form`
(a keyed hash of it: `anonymous_csrf` / `check_anonymous_csrf`), which another site can neither
read nor set.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter, RateLimitExceeded
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge

from backend.domain.errors import DomainError, NotFound, Unauthenticated
from backend.domain.money import Money, MoneyError
from backend.errors import STATUS_BY_ERROR
from backend.interface.scopes import PUBLIC, USER, required_scope
from backend.security import constant_time_equals
from backend.services.accounts.sessions import (
    SESSION_COOKIE,
    SignedIn,
    csrf_matches,
    member_view,
    session_user,
)
from backend.services.accounts.users import MembershipView
from backend.services.platform.audit import (
    RequestAudit,
    actor_name,
    bind_request,
    record_request,
)
from backend.services.platform.tenants import TenantSettings
from backend.web.i18n import LANGUAGES, pick_language, translate
from backend.wiring import Context

log = logging.getLogger(__name__)
CSRF_COOKIE = "wca_csrf"
FORM_COOKIE = "wca_form"
LANGUAGE_COOKIE = "wca_lang"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Pages are the app's own: scripts and styles from /app/static only (htmx and uPlot vendored),
# no inline script, nothing framed; images also over https (products' images are the
# addresses the API keeps, on the merchant's store or CDN: shown, never fetched by the server).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data: https:; connect-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")

# The largest body a signed-in page's POST may send; an upload page names its own.
FORM_BODY_LIMIT = 2 * 1024 * 1024
BODY_LIMITS: dict[str, int] = {}

blp = Blueprint("web", __name__, url_prefix="/app", template_folder="templates")


@dataclass(frozen=True)
class Viewer:
    """The signed-in person on the page: their session, shop, scopes and shops."""

    signed_in: SignedIn
    email: str
    name: str | None
    tenant: TenantSettings
    scopes: frozenset[str]
    memberships: list[MembershipView]
    csrf_token: str

    @property
    def actor(self) -> str:
        return actor_name(False, self.signed_in.user_id, None)

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def context() -> Context:
    ctx: Context = current_app.extensions["backend"]
    return ctx


def viewer() -> Viewer:
    found: Viewer = g.web_viewer
    return found


def tenant_id() -> str:
    return viewer().tenant.id


def language() -> str:
    return str(g.get("web_language") or "en")


def t(key: str, /, **values: Any) -> str:
    return translate(language(), key, **values)


def kes(amount_minor: int | None, currency: str = "KES") -> str:
    """Integer minor units as the shop reads them: 'KES 1,250.00'."""
    if amount_minor is None:
        return translate(language(), "common.none")
    return Money(int(amount_minor), currency).format()


def major(amount_minor: int, currency: str = "KES") -> str:
    """Minor units as a form's editable amount: 125050 → '1250.50' (exact, no float)."""
    return str(Money(int(amount_minor), currency).to_major())


def month_names(short: bool = False) -> list[str]:
    """January..December in the page's language (strftime's %b/%B are the C locale's English)."""
    prefix = "month_short." if short else "month."
    return [t(f"{prefix}{number}") for number in range(1, 13)]


def local_time(value: datetime | None, pattern: str = "%d %b %Y %H:%M",
               timezone: str | None = None) -> str:
    """A moment in the shop's timezone (the signed-in person's shop, else `timezone`); %b and %B
    are the month's name in the page's language (%A the weekday's)."""
    if value is None:
        return translate(language(), "common.none")
    viewer_ = g.get("web_viewer")
    timezone = viewer_.tenant.timezone if viewer_ is not None else timezone
    zone = ZoneInfo(timezone) if timezone else None
    local = value.astimezone(zone)
    names = {"%b": month_names(True)[local.month - 1], "%B": month_names()[local.month - 1],
             "%A": t(f"weekday.{local.weekday()}")}
    for code, name in names.items():
        pattern = pattern.replace(code, name.replace("%", "%%"))
    return local.strftime(pattern)


def anonymous_csrf() -> str:
    """The CSRF token for a form shown to someone not signed in: bound to the `wca_form` cookie
    (made now when missing; `page_headers` sets it)."""
    nonce = request.cookies.get(FORM_COOKIE) or g.get("web_form_nonce")
    if not nonce:
        nonce = g.web_form_nonce = secrets.token_urlsafe(32)
    return context().crypto.keyed_hash(f"web-form:{nonce}")


def check_anonymous_csrf() -> None:
    """A 403 page unless the form's token is the one its `wca_form` cookie gave."""
    nonce = request.cookies.get(FORM_COOKIE, "")
    token = request.form.get(CSRF_FIELD, "")
    if not nonce or not token or not constant_time_equals(
            context().crypto.keyed_hash(f"web-form:{nonce}"), token):
        raise PageError(403, "error.csrf")


class PageError(Exception):
    """A page's answer that is not the page: an HTML error page with this status."""

    def __init__(self, status: int, key: str, detail: str | None = None,
                 title: str = "error.title") -> None:
        super().__init__(key)
        self.status, self.key, self.detail, self.title = status, key, detail, title


def _sign_in_redirect(notice: str | None = None) -> Response:
    target = request.full_path if request.method == "GET" else url_for("web.overview")
    query = {"next": target.rstrip("?")}
    if notice:
        query["notice"] = notice
    response = redirect(f"{url_for('web.login')}?{urlencode(query)}")
    return response


def _load_viewer() -> Viewer | Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return _sign_in_redirect()
    ctx = context()
    # The rate limiter has looked this request's credential up already (staff_credential,
    # backend/api/auth.py, kept on g); a session it found is this cookie's (the one session
    # cookie), anything else is looked up again.
    found = g.get("_staff_credential")
    signed_in = found[0] if found and found[0] is not None and found[0].session_id else None
    if signed_in is None:
        try:
            signed_in = session_user(ctx, cookie)
        except Unauthenticated:
            return _sign_in_redirect("auth.session_ended")
    member = member_view(ctx, signed_in.user_id, signed_in.tenant_id)
    if member.scopes is None or member.tenant is None:
        raise PageError(403, "auth.no_tenant")
    return Viewer(signed_in, member.user.email, member.user.name, member.tenant, member.scopes,
                  member.memberships, request.cookies.get(CSRF_COOKIE, ""))


def limit_body() -> None:
    """A page's POST body limit, set before anything reads the body (the app's first
    before-request function, ahead of the input guard's read; register_web puts it there): a
    bigger body is a 413 page, never read into memory or a temporary file."""
    if request.blueprint == blp.name and request.method not in SAFE_METHODS:
        request.max_content_length = BODY_LIMITS.get(request.endpoint or "", FORM_BODY_LIMIT)


@blp.before_request
def authenticate() -> Response | None:
    """Every page declares a scope; PUBLIC pages need nobody, the rest a signed-in member of the
    session's shop who holds the page's scope (else a 403 page), and a CSRF token on a POST."""
    g.web_language = pick_language(request.cookies.get(LANGUAGE_COOKIE))
    if request.endpoint is None:
        return None
    scope = required_scope(current_app, request.endpoint, request.method)
    if scope is None:
        raise PageError(403, "error.forbidden")  # an undeclared page is nobody's
    if scope == PUBLIC:
        return None
    loaded = _load_viewer()
    if isinstance(loaded, Response):
        return loaded
    g.web_viewer = loaded
    g.web_language = pick_language(request.cookies.get(LANGUAGE_COOKIE),
                                   loaded.tenant.primary_language)
    if request.method not in SAFE_METHODS:
        token = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
        if not csrf_matches(loaded.signed_in, token):
            raise PageError(403, "error.csrf")
    if scope != USER and not loaded.may(scope):
        raise PageError(403, "error.forbidden")
    # The services' audit records name this person (the API binds its callers the same way).
    g.audit_token = bind_request(RequestAudit(
        actor=loaded.actor, request_id=g.get("request_id"), ip=request.remote_addr,
        route=f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"))
    return None


def _target() -> tuple[str, Any] | None:
    """What a page's write is about: the last <…_id> of its path (e.g. ("withdrawal", 7))."""
    ids = [(name, value) for name, value in (request.view_args or {}).items()
           if name.endswith("_id")]
    if not ids:
        return None
    name, value = ids[-1]
    return name.removesuffix("_id"), value


@blp.after_request
def record_write(response: Response) -> Response:
    """The API's rule for pages: a signed-in member's successful write (a POST whose scope is
    not a read: a "try a question" box changes nothing) that no service recorded gets the
    generic audit record, with the request's actor (user:<id>), request id, IP and route bound
    in `authenticate`."""
    signed_in: Viewer | None = g.get("web_viewer")
    if signed_in is None or request.method in SAFE_METHODS or response.status_code >= 400:
        return response
    scope = required_scope(current_app, request.endpoint or "", request.method)
    if scope is None or scope == PUBLIC or scope.endswith(":read"):
        return response
    try:
        record_request(context(), signed_in.tenant.id,
                       f"{request.endpoint}.{request.method.lower()}", _target(),
                       response.status_code)
    except Exception:  # noqa: BLE001 — the change is committed; a failed record must not hide it
        log.exception("audit record failed for %s %s", request.method, request.path)
    return response


@blp.after_request
def page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if not request.path.startswith("/app/static/"):
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Content-Language", language())
    nonce = g.get("web_form_nonce")
    if nonce:
        response.set_cookie(FORM_COOKIE, nonce, max_age=24 * 3600, httponly=True, samesite="Lax",
                            secure=context().settings.session_cookie_secure, path="/app/")
    return response


def page(template: str, status: int = 200, **values: Any) -> Response:
    """Render a page with what every template uses."""
    notice = request.args.get("notice", "")
    body = render_template(
        template, t=t, kes=kes, major=major, local_time=local_time, viewer=g.get("web_viewer"),
        language=language(), languages=LANGUAGES, csrf_field=CSRF_FIELD,
        notice=t(notice) if notice.count(".") == 1 and notice.replace(".", "").replace(
            "_", "").isalnum() else None,
        **values)
    return make_response(body, status)


def done(endpoint: str, notice: str, **values: Any) -> Response:
    """Post/redirect/get: back to a page with a notice (a catalogue key, never free text)."""
    return redirect(url_for(endpoint, notice=notice, **values), code=303)


def validated(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """A form's fields checked by the API's schema; a PageError 422 naming what is wrong."""
    try:
        loaded: dict[str, Any] = schema.load(dict(data))
    except ValidationError as error:
        raise PageError(422, "form.invalid", _messages(error.messages)) from error
    return loaded


def _messages(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{field}: {_messages(value)}" for field, value in messages.items())
    if isinstance(messages, list):
        return " ".join(_messages(item) for item in messages)
    return str(messages)


def page_args() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 10**6 else 1


@blp.errorhandler(PageError)
def page_error(error: PageError) -> Response:
    message = t(error.key, detail=error.detail or "") if error.detail is not None else t(error.key)
    return page("error.html", status=error.status, message=message, title=error.title)


@blp.errorhandler(RequestEntityTooLarge)
def too_large(_: RequestEntityTooLarge) -> Response:
    limit = BODY_LIMITS.get(request.endpoint or "", FORM_BODY_LIMIT)
    return page("error.html", status=413,
                message=t("error.too_large", megabytes=limit // (1024 * 1024)))


@blp.errorhandler(InternalServerError)
def server_error(_: InternalServerError) -> Response:
    """An unexpected failure (already logged by Flask) on an HTML page, not the API's JSON."""
    return page("error.html", status=500, message=t("error.server"))


@blp.errorhandler(RateLimitExceeded)
def too_many(_: RateLimitExceeded) -> Response:
    """The API's rate limits (backend/api/rate_limits.py: failed credentials per client IP, a
    wrong password here included, since the form answers it 401) on an HTML page: the sign-in
    form again, or the error page, 429 with Retry-After."""
    limiter: Limiter | None = current_app.extensions.get("rate_limiter")
    breached = limiter.current_limit if limiter is not None else None
    wait = breached.reset_at - time.time() if breached is not None else 60
    if request.endpoint in ("web.login", "web.login_submit"):
        response = page("login.html", status=429, next=request.values.get("next", ""),
                        error="error.too_many", email=request.form.get("email", ""))
    else:
        response = page("error.html", status=429, message=t("error.too_many"))
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


@blp.errorhandler(DomainError)
@blp.errorhandler(MoneyError)
def domain_error(error: Exception) -> Response:
    """A service's refusal, on an HTML page with the API's status and its description."""
    status = next((code for kind, code in STATUS_BY_ERROR if isinstance(error, kind)), 400)
    if isinstance(error, NotFound):
        return page("error.html", status=404, message=t("error.not_found"))
    return page("error.html", status=status, message=getattr(error, "description", str(error)))

