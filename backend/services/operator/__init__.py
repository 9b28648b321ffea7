"""The platform operator: onboarding tenants (their owner invited through accounts), suspension,
connection tests."""
