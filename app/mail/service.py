"""A parsed citizen's e-mail → intake: a new case, or — when its subject names one of the sender's
cases (a reply to our acknowledgement) — a follow-up on that case; and the acknowledgement mailed back
through the outbox. No commits (the mailbox reader, app.mail.reader, is the boundary)."""

from __future__ import annotations

import hashlib

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case
from app.intake.service import Inbound
from app.mail.parse import ParsedMail
from app.outbox.service import enqueue

#: the outbox kind of the acknowledgement of a new case: the case's later answer is mailed to the
#: addresses that got one (app.cases.effects.sms_feedback)
RECEIPT = "receipt"


def inbound_of(mail: ParsedMail, raw: bytes) -> Inbound:
    ext = mail.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    note = "; ".join(mail.notes) or None
    if mail.attachments:
        names = ", ".join(a.filename for a in mail.attachments)
        note = "; ".join(x for x in (note, f"附件：{names}") if x)
    return Inbound(
        channel="email", external_id=ext, sender=mail.sender, subject=mail.subject or None,
        text=mail.text.strip() or "（邮件无正文）", join_number=mail.case_number, note=note,
    )  # fmt: skip


def acknowledge(session: AsyncSession, address: str, case: Case, *, created: bool) -> None:
    """Queue the reply to a citizen's mail: the new case's number, or that the mail joined its case.
    The case number stays in the subject, so the citizen's reply joins the case again."""
    if created:
        subject = f"【12345】您的诉求已受理，工单号 {case.number}"
        body = (
            f"您好：\n\n您的来信已受理，工单号 {case.number}。\n办理结果将通过电子邮件答复您，"
            "也可在 12345 网站凭工单号查询办理进度。\n\n（回复本邮件可补充情况，请保留标题中的工单号。）"
        )
        kind = RECEIPT
    else:
        subject = f"【12345】您的补充已收到，工单号 {case.number}"
        body = f"您好：\n\n您的来信已并入工单 {case.number}，我们将一并办理。"
        kind = "follow_up"
    enqueue(session, channel="email", recipient=address, case_id=case.id, kind=kind, subject=subject, body=body)
