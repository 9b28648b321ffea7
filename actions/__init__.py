"""Custom actions of the assistant (rasa-sdk); they reach the backend over HTTP only."""

from pii.files import restrict_umask as _restrict_umask
from pii.masking import install as _install_phone_masking

# The action server logs no phone number (rasa-sdk logs sender ids, events and slots).
_install_phone_masking()
_restrict_umask()
