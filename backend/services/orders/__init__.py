"""The orders capability: carts and orders (priced from the catalog, stock reserved)."""
