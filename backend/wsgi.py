"""WSGI entry point for gunicorn: `gunicorn backend.wsgi:app` (settings from the environment)."""

from backend.app import create_app

app = create_app()
