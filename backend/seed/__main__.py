"""`python -m backend.seed`: seed the demo tenants (see backend/seed/__init__.py)."""

from backend.seed import main

main()
