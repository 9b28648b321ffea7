"""Background jobs (RQ) and the in-process runner used when no Redis is configured."""
