"""Call-backs (回拨): an agent's phone is rung, then the citizen is dialled (hotline-outbound), and the
call is followed through AMI events until it ends.

Who starts one: the wallboard's abandoned-call list (router here), the voicemail inbox (app.voicemail)
and the agents' call-back task list (app.surveys.callbacks), all through ``service``.

May import: app kernel (db, events, runtime, deps), app.auth, app.calls, app.agents (who is free),
app.telephony (the public originate API). Never app.stats, app.surveys, app.voicemail (they use this).
Commits: only the boundary (router, component) — the row is committed before the Originate so the
AMI events that follow find it. Publishes: ``callback.updated`` (after commit, component).
"""
