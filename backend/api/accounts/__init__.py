"""/v1/auth, /v1/tokens, /v1/members, /v1/roles, /v1/invitations (+ /v1/invitations/accept)."""

from backend.api.accounts.routes import accept_blp, auth_blp, members_blp, tokens_blp

__all__ = ["accept_blp", "auth_blp", "members_blp", "tokens_blp"]
