"""Local simulators of the payment providers, served under /sandbox/ in sandbox mode.

Each speaks its provider's protocol (paths, authentication, field validation, error shapes,
callbacks) so the real clients in backend/providers run unchanged against them in the demo and
the tests. Their state lives in sandbox_payment_records, shared by every backend process.
"""
