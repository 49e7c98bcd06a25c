"""E-mail to the platforms' addresses: parse (parse.py), take in and acknowledge (service.py), read
the mailboxes over IMAP (imap.py, reader.py: one process at a time), keep refused mail (models.py) and
show it to the administrator (router.py). Replies go out through the outbox's SMTP sender.

- May import: app kernel, app.intake, app.cases, app.outbox, app.auth, app.web.
- Commits: app.mail.reader (one transaction per message, before the message is flagged \\Seen).
- Publishes: the intake's events (a case created, a message received), after each commit.
"""
