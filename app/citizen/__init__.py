"""Citizens on the web (网站): submit a request with an optional photo or document, get the case
number at once (and by SMS, and by e-mail when given), track it later with number + phone, read the
reply, rate it. No login: every call is rate-limited per address, and a case is shown only to whoever
knows both its number and its citizen's phone.

- May import: app kernel, app.web (pages), app.intake (request → case), app.cases (queries, rating),
  app.outbox (the e-mail receipt).
- Commits: only its router. Publishes: the intake domain's and the case domain's events.
"""
