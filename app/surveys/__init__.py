"""Satisfaction call-backs (回访) and the agents' call-back task list: scheduler (originates survey
calls, a boundary), service (no commits), SurveyCalls port of the `survey` AGI route (agi.py),
router.

May import: app kernel, app.runtime, app.auth, app.calls, app.cases (ratings reach the case through
its service), app.callbacks, app.telephony, app.web, ivr, agi_handlers.channel_vars. Commits: the
scheduler and the router. Publishes: the case events the cases service returns (case.transition)."""
