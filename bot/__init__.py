"""Rasa-side code of the WhatsApp assistant: input channel and custom NLU components."""
