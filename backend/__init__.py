"""Flask commerce backend of the WhatsApp assistant: catalog, messaging, merchants' REST API."""
