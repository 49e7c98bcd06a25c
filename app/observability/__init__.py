"""Process-wide instruments (Prometheus counters and histograms) and structured logging with request
and call ids: kernel utilities that any layer may use (telephony times AGI routes, main logs
requests). May import: third-party libraries only, nothing of app. Commits nothing, publishes
nothing. (What operators do with them — /metrics, backups, docs — is app.ops, at the top.)"""
