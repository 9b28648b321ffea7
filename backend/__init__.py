"""Flask commerce backend of the WhatsApp commerce assistant (catalog, messaging, merchants' REST API)."""
