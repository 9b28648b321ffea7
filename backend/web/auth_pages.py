"""Signing in and out, switching shop, the language toggle."""

from __future__ import annotations

from flask import Response, redirect, request, url_for

from backend.domain.errors import NotFound, TooManyAttempts, Unauthenticated
from backend.interface.inputs import LoginSchema, SwitchSchema
from backend.interface.scopes import PUBLIC, USER, requires
from backend.services.accounts.sessions import (
    SESSION_COOKIE,
    NewSession,
    login,
    logout,
    switch_tenant,
)
from backend.web.core import (
    CSRF_COOKIE,
    LANGUAGE_COOKIE,
    blp,
    context,
    done,
    page,
    validated,
    viewer,
)
from backend.web.i18n import LANGUAGES


def _safe_next(target: str | None) -> str:
    """Only a path of this app (never another site) after signing in."""
    if target and target.startswith("/app/") and not target.startswith("//"):
        return target
    return url_for("web.overview")


def _set_cookies(response: Response, session_token: str, csrf: str, max_age: int) -> None:
    secure = context().settings.session_cookie_secure
    for name, value in ((SESSION_COOKIE, session_token), (CSRF_COOKIE, csrf)):
        response.set_cookie(name, value, max_age=max_age, secure=secure, httponly=True,
                            samesite="Lax", path="/")


@blp.get("/login", endpoint="login")
@requires(PUBLIC)
def login_form() -> Response:
    return page("login.html", next=request.args.get("next", ""), error=None)


@blp.post("/login")
@requires(PUBLIC)
def login_submit() -> Response:
    """The API's login service with the API's LoginSchema; a wrong password re-renders the form
    (401), a locked account says so (429)."""
    form = {key: request.form.get(key, "") for key in ("email", "password")}
    target = request.form.get("next", "")
    try:
        values = validated(LoginSchema(), form)
        started = login(context(), values["email"], values["password"])
    except Unauthenticated:
        return page("login.html", status=401, next=target, error="auth.bad_login",
                    email=form["email"])
    except TooManyAttempts:
        return page("login.html", status=429, next=target, error="auth.locked",
                    email=form["email"])
    return signed_in_response(started, _safe_next(target))


def signed_in_response(started: NewSession, target: str) -> Response:
    """To `target` (a path of this app) with the new session's cookies."""
    response = redirect(target, code=303)
    _set_cookies(response, started.token, started.csrf_token,
                 context().settings.session_lifetime_hours * 3600)
    return response


@blp.post("/logout")
@requires(USER)
def logout_submit() -> Response:
    logout(context(), viewer().signed_in.session_id or 0)
    response = redirect(url_for("web.login"), code=303)
    _set_cookies(response, "", "", 0)
    return response


@blp.post("/switch")
@requires(USER)
def switch_submit() -> Response:
    values = validated(SwitchSchema(), {"tenant_id": request.form.get("tenant_id", "")})
    session_id = viewer().signed_in.session_id
    if session_id is None:
        raise NotFound("No session")
    switch_tenant(context(), session_id, viewer().signed_in.user_id, values["tenant_id"])
    return done("web.overview", "")


@blp.get("/language/<code>")
@requires(PUBLIC)
def choose_language(code: str) -> Response:
    """The toggle: remembered in a cookie for a year, over the shop's own language."""
    response = redirect(_safe_next(request.args.get("next")), code=303)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", path="/")
    return response
