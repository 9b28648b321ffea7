"""Services and bookings: the service menu and details, free slots, the booking form, the
customer's appointments and cancelling one.

Dates and times are the tenant's local time (GET /v1/tenant "timezone"); the backend answers slots
in UTC. Slot values the form fills: selected_service and selected_service_variant (ids as text),
date ("YYYY-MM-DD", or "first/last" for several days until a day is picked) and time ("HH:MM", or
"HH:MM-HH:MM" for a part of the day until a time is picked).
"""
