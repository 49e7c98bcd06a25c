"""GET /health: database, AMI and FastAGI (from the TELEPHONY slot), calendar coverage, and the checks
other domains register in EXTRA_CHECKS (transcription, outbox). May import: app kernel, app.auth,
app.telephony. Commits nothing, publishes nothing."""
