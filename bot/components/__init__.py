"""Custom Rasa NLU components: language detection and menu references."""
