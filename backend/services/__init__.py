"""Use cases: each public function runs in one transaction and returns plain data, never ORM rows."""
