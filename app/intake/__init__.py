"""Intake: every channel's message (SMS, e-mail, web form, WeChat, Weibo/app webhooks, Open311)
becomes a case, or joins the same citizen's open case on the same matter.

- May import: app kernel, app.cases (create_case, add_follow_up), callflow (region routing).
  The channel packages (app.sms, app.mail, app.citizen, app.webhooks) sit above and call ``receive``.
- Commits: nothing (``service.receive`` works in the caller's transaction; the channel's boundary
  commits and publishes what it returns, through ``app.events.commit_and_publish``).
- Publishes (events.py): ``intake.received``, plus the case domain's ``case.created`` / ``case.updated``.
"""
