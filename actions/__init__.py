"""Custom actions of the assistant (rasa-sdk); they reach the backend over HTTP only."""
