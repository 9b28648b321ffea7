"""The conversations capability: inbound log, conversations, outbound replies and their delivery, handoff, NLU classifications."""
