"""Cases (工单): intake, the transition table, deadlines, supervision, ratings, merging.

- May import: ``app.db``, ``app.events``, ``app.auth`` (users, platform scope), ``app.units`` (active
  units), ``app.outbox`` (enqueue), ``callflow`` (config, calendar). Not telephony, recordings or stats.
- Commits: only its boundaries — ``router`` (HTTP), ``pages``, ``scheduler`` (sweep and outbox
  delivery). ``service``, ``effects``, ``queries`` flush and return.
- Publishes (built in ``app.cases.events`` only, after commit): ``case.created``,
  ``case.transition`` (one table row applied), ``case.updated`` (annotation, e.g. a transcript).
- ``api``/``registry`` only gather the workflow's routers and models (cases, units, outbox, public)
  for the composition root; nothing else imports them.
- The state machine is ``workflow.TRANSITIONS``; guards/effects it names live in ``effects``.
"""
