"""SMS through a real gateway (Kannel: its smsbox sendsms interface out, its sms-service post-url in,
its delivery reports back): the outbox's SMS sender, inbound SMS as cases, delivery reports updating
the outbox. docs/sms.md describes the gateway's configuration.

- May import: app kernel, app.outbox (sender protocol, apply_report), app.intake (inbound → case),
  app.health (its check).
- Commits: only its router (inbound SMS, delivery reports). Publishes: the intake domain's events.
"""
