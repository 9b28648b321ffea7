"""Personal data helpers shared by every process (backend, channel, actions): stdlib only."""
