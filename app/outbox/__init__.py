"""Outbox: messages to citizens (SMS, e-mail) and units, enqueued in the business transaction,
delivered later; the status says what really happened (models.py).

- May import: ``app.db``, ``app.auth`` (its router's roles), ``app.health``. Nothing of the domains
  that enqueue; the gateways (app.sms, app.mail) register their senders in ``OUTBOX_SENDERS``.
- Commits: its router, and ``worker.deliver_due`` (short transactions of its own, called by the case
  scheduler's loop); ``service.enqueue`` and ``service.apply_report`` work in the caller's transaction.
- Publishes: nothing (the outbox row is the record of what was said to whom).
"""
