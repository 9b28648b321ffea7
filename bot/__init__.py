"""Rasa-side code of the WhatsApp assistant: input channel and custom NLU components."""

from pii.masking import install as _install_phone_masking

# The rasa server logs no phone number (its own lines, Sanic's, the channel's, the components').
_install_phone_masking()
