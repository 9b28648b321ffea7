"""Local simulators of the outside services, mounted only in sandbox mode (SANDBOX=1).

Each speaks its provider's protocol (paths, authentication, field validation, error shapes,
callbacks) so the real clients in backend/providers run unchanged against them in the demo and
the tests: Twilio's Messages API (twilio*.py, what it received listed under /v1/sandbox),
Daraja (daraja.py), Paystack, Stripe and Pesapal (cards.py) under /sandbox/, and an
OpenAI-compatible LLM served on its own port (llm.py). routes.py mounts them on the app; their
state lives in the tables of models.py, shared by every backend process.
"""
