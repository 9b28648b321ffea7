"""Custom actions of the assistant (rasa-sdk); they reach the backend over HTTP only."""

from pii.masking import install as _install_phone_masking

# The action server logs no phone number (rasa-sdk logs sender ids, events and slots).
_install_phone_masking()
