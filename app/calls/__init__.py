"""Calls: one row per call, kept current from the AGI decision and AMI events; CDR reconciliation.

- May import: ``app.db``, ``app.auth`` (platform scope of its router). Not cases or stats.
- Commits: never in ``service``/``cdr``; the AMI consumer and the AGI route commit.
- Publishes: nothing itself; the telephony boundary publishes ``call.*`` after committing.
"""
