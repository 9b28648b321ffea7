"""Clients for outside services (Twilio first), each pointed at a configurable base URL."""
