"""The payments capability: payments, provider callbacks, payment settings, notices, wallets and payouts."""
