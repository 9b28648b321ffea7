"""Rasa-side code of the WhatsApp assistant: input channel and custom NLU components."""

from pii.files import restrict_umask as _restrict_umask
from pii.masking import install as _install_phone_masking

# The rasa server logs no phone number (its own lines, Sanic's, the channel's, the components').
_install_phone_masking()
# …and creates the tracker store and its other files owner-only.
_restrict_umask()
