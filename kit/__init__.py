"""The assistant's kit: what the channel, the actions and the backend must agree on, in one place.

Every module here is stdlib-only (texts also needs PyYAML, which both environments carry), so the
backend (.venv, Python 3.11) and the Rasa side (.venv-rasa, Python 3.10) import the same code;
backend_http alone needs aiohttp and is for the Rasa side (channel and actions) only.
"""
