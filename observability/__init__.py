"""Logs, error reports and request context shared by every process: the rasa server (channel),
the action server, the backend and the RQ worker. Importable from both Python environments."""
