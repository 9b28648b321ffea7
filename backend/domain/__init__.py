"""Framework-free business rules: money, phone numbers and the domain errors."""
