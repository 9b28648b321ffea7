"""Store integrations: a merchant's WooCommerce or Shopify store connected (credentials
encrypted), tested, imported and kept in sync (`connections`: connect, test, run now,
webhooks received; `sync`: the runs, in jobs)."""
