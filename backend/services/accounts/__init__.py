"""Staff accounts: users, memberships and roles, invitations, sessions and personal access
tokens, password reset. Other rooms use `scopes_for` and `invite`."""

from backend.services.accounts.access import scopes_for
from backend.services.accounts.members import InvitationView, invite

__all__ = ["InvitationView", "invite", "scopes_for"]
