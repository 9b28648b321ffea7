"""Pages for people not signed in yet (PUBLIC, with the `wca_form` CSRF token of
backend/web/core.py): joining a shop by the invitation link (/app/invite?token=…, the link the
members service makes; scripts still POST the token to /v1/invitations/accept) and resetting a
password with a code sent to the user's WhatsApp from the platform's number. Both call the API's
services with the API's schemas and end signed in, like the sign-in page."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request, url_for

from backend.domain.errors import (
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    Unprocessable,
)
from backend.domain.passwords import MIN_LENGTH
from backend.interface.inputs import AcceptSchema, ResetConfirmSchema, ResetRequestSchema
from backend.interface.scopes import PUBLIC, requires
from backend.services.accounts.members import (
    InvitationPreview,
    accept_invitation,
    preview_invitation,
)
from backend.services.accounts.reset import confirm_reset, request_reset
from backend.services.accounts.sessions import NewSession, login, session_user, switch_tenant
from backend.web.auth_pages import signed_in_response
from backend.web.core import (
    LANGUAGE_COOKIE,
    PageError,
    anonymous_csrf,
    blp,
    check_anonymous_csrf,
    context,
    page,
    t,
    validated,
)
from backend.web.i18n import pick_language


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "").strip() if name != "password"
            else request.form.get(name, "") for name in names}


def _preview(token: str) -> InvitationPreview:
    """The invitation, or the page saying why it no longer works (410) or is unknown (404);
    the page speaks the shop's language unless the visitor chose one."""
    try:
        found = preview_invitation(context(), token)
        g.web_language = pick_language(request.cookies.get(LANGUAGE_COOKIE), found.language)
        return found
    except NotFound as error:
        raise PageError(404, "join.unknown", title="join.gone_title") from error
    except Gone as error:
        raise PageError(410, "join.gone_expired" if "expired" in error.description
                        else "join.gone_used", title="join.gone_title") from error


def _invite_page(invitation: InvitationPreview, token: str, status: int = 200,
                 error: str | None = None, values: dict[str, str] | None = None) -> Response:
    return page("invite.html", status=status, invitation=invitation, token=token, error=error,
                values=values or {}, rule=t("join.rule", minimum=MIN_LENGTH),
                form_token=anonymous_csrf())


@blp.get("/invite")
@requires(PUBLIC)
def invite_page() -> Response:
    token = request.args.get("token", "")
    return _invite_page(_preview(token), token)


@blp.post("/invite")
@requires(PUBLIC)
def invite_submit() -> Response:
    """A new account: the members service creates it with the password (a weak one: the form
    again with the rule, 422), then signs in. An existing account: its password is checked by the
    sign-in service first (wrong: 401, locked: 429), then the invitation is accepted and the
    session moves to the new shop."""
    check_anonymous_csrf()
    values = _form("token", "name", "password", "phone")
    invitation = _preview(values["token"])
    body: dict[str, Any] = validated(AcceptSchema(), {
        "token": values["token"], "password": values["password"],
        "name": values["name"] or None, "phone": values["phone"] or None})
    shown = {"name": values["name"], "phone": values["phone"]}
    if invitation.has_account:
        try:
            started = login(context(), invitation.email, body["password"])
        except Unauthenticated:
            return _invite_page(invitation, body["token"], 401, t("auth.bad_login"), shown)
        except TooManyAttempts:
            return _invite_page(invitation, body["token"], 429, t("auth.locked"), shown)
        accepted = accept_invitation(context(), body["token"])
        signed_in = session_user(context(), started.token)
        switch_tenant(context(), signed_in.session_id or 0, signed_in.user_id,
                      accepted.tenant_id)
        return signed_in_response(started, url_for("web.overview"))
    try:
        accepted = accept_invitation(context(), body["token"], body["password"], body["name"],
                                     body["phone"])
    except (Unprocessable, InvalidInput) as error:  # the password rule, a phone not a number
        return _invite_page(invitation, body["token"], 422, error.description, shown)
    except Conflict as error:
        raise PageError(409, "join.taken", title="join.gone_title") from error
    return signed_in_response(login(context(), invitation.email, body["password"],
                                    accepted.tenant_id), url_for("web.overview"))


@blp.get("/reset")
@requires(PUBLIC)
def reset_page() -> Response:
    return page("reset.html", form_token=anonymous_csrf(), email=request.args.get("email", ""))


@blp.post("/reset")
@requires(PUBLIC)
def reset_submit() -> Response:
    """The API's reset service: a code is queued for a known user with a WhatsApp number; the
    answer (the code form) is the same whatever the email."""
    check_anonymous_csrf()
    body = validated(ResetRequestSchema(), _form("email"))
    request_reset(context(), body["email"])
    return _confirm_page(email=body["email"], sent=True)


def _confirm_page(status: int = 200, email: str = "", sent: bool = False,
                  error: str | None = None) -> Response:
    return page("reset_confirm.html", status=status, email=email, sent=sent, error=error,
                minutes=context().settings.password_reset_minutes,
                rule=t("join.rule", minimum=MIN_LENGTH), form_token=anonymous_csrf())


@blp.get("/reset/confirm")
@requires(PUBLIC)
def reset_confirm_page() -> Response:
    return _confirm_page(email=request.args.get("email", ""))


@blp.post("/reset/confirm")
@requires(PUBLIC)
def reset_confirm_submit() -> Response:
    """The code and a new password (the reset service: five guesses per code, every other
    session ended); then signed in with the new password."""
    check_anonymous_csrf()
    body = validated(ResetConfirmSchema(), _form("email", "code", "password"))
    try:
        confirm_reset(context(), body["email"], body["code"], body["password"])
    except InvalidInput:
        return _confirm_page(400, body["email"], error=t("reset.bad_code"))
    except Unprocessable as error:
        return _confirm_page(422, body["email"], error=error.description)
    started: NewSession = login(context(), body["email"], body["password"])
    return signed_in_response(started, url_for("web.overview"))
