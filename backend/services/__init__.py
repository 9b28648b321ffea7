"""Use cases: each runs in one transaction and returns plain data, never ORM rows."""
