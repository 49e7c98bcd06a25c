"""The outbox's e-mail sender (channel "email"): SMTP from the settings, in a worker thread so the event
loop never waits on the mail server. A message body's first line is its subject; the rest, after a
blank line, its text. A refused or unreachable server raises, so the outbox keeps the message pending
with the error and retries (app.outbox.worker.deliver_due). A server that accepted the message makes it
``submitted`` (SMTP has no delivery report), referenced by its Message-ID."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from app.outbox.models import SUBMITTED
from app.outbox.service import Outgoing, Submission
from app.settings import Settings

CHANNEL = "email"


def compose(sender: str, recipient: str, body: str, subject: str | None = None) -> EmailMessage:
    if subject is None:
        subject, _, text = body.partition("\n")
    else:
        text = body
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject.strip()
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(text.lstrip("\n") or subject, charset="utf-8")
    return msg


class SmtpSender:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def _send(self, message: Outgoing) -> str:
        s = self.s
        mail = compose(s.smtp_from, message.recipient, message.body, message.subject)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(mail)
        return str(mail["Message-ID"])

    async def send(self, message: Outgoing) -> Submission:
        ref = await asyncio.to_thread(self._send, message)
        return Submission(SUBMITTED, ref=ref[:64])
