"""The bookings capability: bookable services (variants, windows) and appointments."""
