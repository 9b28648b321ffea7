"""Analytics: the daily roll-up per tenant and local day, and reading it."""
