"""Asterisk configuration rendered from the platform configuration (render, dialplan) and the loopback
sandbox runner (sandbox). An edge: may import callflow, ivr, the stdlib and third-party libraries —
never app, agi_handlers or recordings. Commits nothing, publishes nothing."""
