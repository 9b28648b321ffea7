"""Subscriptions and billing: discount codes, subscriptions, invoices, the daily renewal run
(charging by M-Pesa STK push through the platform's paybill), reminders and suspension."""
