"""The platform mailboxes' reader (production's e-mail channel): one process at a time (the leader of
``jobs:mail`` on PostgreSQL) reads each configured mailbox every ``mail_poll_s``.

Each unseen message, one at a time, in this order: read it (BODY.PEEK: not marked), take it in (a new
case, or a reply joining its case; or refused and kept) and queue the citizen's acknowledgement in
the same transaction, commit, and only then flag it \\Seen. A crash before the flag reads it again;
intake counts it once (its Message-ID is the intake key) and the refused list keeps it once, so
nothing is lost and nothing is doubled. A message that fails for another reason (the database away)
stays unseen and is tried again next round; after ``mail_max_attempts`` it is kept as refused with
the error (never retried for ever, never dropped). Logs never carry a citizen's address in clear.

Commits: its own transactions (a boundary). Publishes: the intake's events, after each commit."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.context import of_runtime
from app.cases.service import CaseError
from app.db import utcnow
from app.events import commit_and_publish
from app.health.router import EXTRA_CHECKS
from app.intake.models import IntakeAttachment
from app.intake.service import Received, receive
from app.mail.imap import Mailbox
from app.mail.models import RefusedMail
from app.mail.parse import MAX_BYTES, MailRefused, ParsedMail, nul_free, parse, too_large
from app.mail.service import acknowledge, inbound_of
from app.masking import mask_email
from app.pg import while_leading
from app.runtime import Key
from app.settings import MailboxSetting

log = logging.getLogger(__name__)
#: the last round over each mailbox in this process (the reader's leader): {name: {at, ok, error, counts}}
MAIL_READS: Key[dict[str, dict[str, Any]]] = Key("mail_reads")


@dataclass(frozen=True)
class Outcome:
    kind: str  # created | joined | repeated | refused
    number: str | None = None


def _headers(raw: bytes) -> tuple[str, str, str]:
    """(message id, sender, subject) of whatever could be read, for a refused message's record."""
    try:
        msg = email.message_from_bytes(raw[: 256 * 1024], policy=email.policy.default)
        sender = nul_free(parseaddr(str(msg.get("From", "")))[1]).strip().lower()
        mid, subject = nul_free(str(msg.get("Message-ID", ""))), nul_free(str(msg.get("Subject", "")))
        return mid.strip(), sender, subject.strip()
    except Exception:  # noqa: BLE001 - a header too broken to read still gets kept
        return "", "", ""


def _keep(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(raw)


def _store(root: Path, case_id: int, data: bytes, filename: str) -> tuple[str, str]:
    """A mail's attachment under var/attachments/<case id>/ (named by its content; never served as is)."""
    sha = hashlib.sha256(data).hexdigest()
    ext = re.sub(r"[^A-Za-z0-9]", "", Path(filename).suffix)[:8].lower() or "bin"
    path = root / str(case_id) / f"{sha[:16]}.{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
    return str(path), sha


async def refuse(
    session: AsyncSession, var_dir: Path, box: MailboxSetting, raw: bytes, size: int, reason: str, kept: str
) -> Outcome:
    """Keep a refused message (its row and its bytes); once per mailbox and message."""
    mid, sender, subject = _headers(raw)
    key = (mid or "sha256:" + hashlib.sha256(raw).hexdigest())[:255]
    seen = await session.scalar(
        select(RefusedMail.id).where(RefusedMail.mailbox == box.name, RefusedMail.message_key == key)
    )
    masked = mask_email(sender) if sender else "（无发件人）"
    if seen is None:
        name = hashlib.sha256(f"{box.name}\n{key}".encode()).hexdigest()
        path = var_dir / "mail" / "refused" / f"{name}.eml"
        await asyncio.to_thread(_keep, path, raw)
        session.add(RefusedMail(
            platform=box.platform, mailbox=box.name[:255], message_key=key, sender_masked=masked[:255],
            sender_sha256=hashlib.sha256(sender.encode()).hexdigest() if sender else None,
            subject=subject[:255], reason=reason[:2000], size=size, kept=kept, path=str(path),
        ))  # fmt: skip
    log.warning("mail: refused a message from %s in %s (%d bytes): %s", masked, box.name, size, reason)
    return Outcome("refused")


async def take_in(
    rt: Any, box: MailboxSetting, raw: bytes, *, size: int | None = None, failed: str | None = None
) -> Outcome:
    """One message from ``box``, committed: a case (or the case it replies to) with the citizen's
    acknowledgement queued, or refused and kept. ``raw`` is only the header when ``size`` is over the
    limit; ``failed`` refuses it with that error (it failed too often)."""
    size = len(raw) if size is None else size
    var_dir = rt.settings.var_dir
    async with rt.db.sessionmaker() as session:
        if failed is not None or size > MAX_BYTES:
            kept = "header" if size > MAX_BYTES else "message"
            reason = failed or too_large(size)
            out = await refuse(session, var_dir, box, raw, size, reason, kept)
            await session.commit()
            return out
        try:
            mail = parse(raw)
        except MailRefused as e:
            out = await refuse(session, var_dir, box, raw, size, str(e), "message")
            await session.commit()
            return out
        try:
            got = await accept(session, rt, mail, raw, box.platform)
        except CaseError as e:
            await session.rollback()
            out = await refuse(session, var_dir, box, raw, size, f"受理失败：{e}", "message")
            await session.commit()
            return out
        await commit_and_publish(session, rt.hub, got.events)
    out = outcome(got)
    log.info("mail: %s → case %s (%s) from %s", box.name, out.number, out.kind, mask_email(mail.sender))
    return out


async def accept(session: AsyncSession, rt: Any, mail: ParsedMail, raw: bytes, platform: str) -> Received:
    """A parsed message taken in on ``platform`` (flushed, not committed): a new case, or the case it
    replies to, with its attachments and the citizen's acknowledgement queued. CaseError: intake
    refused it."""
    inbound = inbound_of(mail, raw)
    inbound.platform = platform
    got = await receive(session, inbound, ctx=of_runtime(rt))
    assert got.case is not None
    if not got.repeated:
        acknowledge(session, mail.sender, got.case, created=got.created)
        for a in mail.attachments:  # kept with the case, as the web form's are
            root = rt.settings.var_dir / "attachments"
            path, sha = await asyncio.to_thread(_store, root, got.case.id, a.data, a.filename)
            session.add(IntakeAttachment(
                intake_id=got.message.id, case_id=got.case.id, filename=a.filename[:255],
                content_type=a.content_type[:64], size=len(a.data), sha256=sha, path=path,
            ))  # fmt: skip
    return got


def outcome(got: Received) -> Outcome:
    assert got.case is not None
    return Outcome("repeated" if got.repeated else ("created" if got.created else "joined"), got.case.number)


def _error(e: Exception) -> str:
    """An error's first line only: a database error's further lines list the statement's parameters
    (a citizen's address among them), which neither the log nor the refused list may show."""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500]


async def poll(rt: Any, box: MailboxSetting, failures: dict[tuple[str, str], int]) -> dict[str, int]:
    """One round over one mailbox's unseen messages; counts by outcome (and ``retry``)."""
    counts = {"created": 0, "joined": 0, "repeated": 0, "refused": 0, "retry": 0}
    mb = Mailbox(box)
    await asyncio.to_thread(mb.open)
    try:
        for uid in await asyncio.to_thread(mb.unseen):
            size = await asyncio.to_thread(mb.size, uid)
            raw = await asyncio.to_thread(mb.header if size > MAX_BYTES else mb.message, uid)
            key = (box.name, uid)
            try:
                out = await take_in(rt, box, raw, size=size)
            except Exception as e:  # noqa: BLE001 - kept unseen and tried again, up to the limit
                error = _error(e)
                failures[key] = failures.get(key, 0) + 1
                log.warning("mail: %s uid %s failed (%d): %s", box.name, uid, failures[key], error)
                if failures[key] < rt.settings.mail_max_attempts:
                    counts["retry"] += 1
                    continue
                try:
                    out = await take_in(rt, box, raw, size=size, failed=f"连续 {failures[key]} 次处理失败：{error}")
                except Exception as e2:  # noqa: BLE001 - not even keepable now: unseen, the others go on
                    log.warning("mail: %s uid %s cannot be kept as refused: %s", box.name, uid, _error(e2))
                    counts["retry"] += 1
                    continue
            failures.pop(key, None)
            await asyncio.to_thread(mb.mark_handled, uid)  # only now: what was done is committed
            counts[out.kind] += 1
    finally:
        await asyncio.to_thread(mb.close)
    return counts


async def read_all(rt: Any, failures: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """One round over every mailbox; a mailbox that cannot be read is logged and tried next round."""
    done: dict[str, dict[str, int]] = {}
    reads = rt.get(MAIL_READS)
    if reads is None:
        reads = {}
        rt.put(MAIL_READS, reads)
    for box in rt.settings.mailboxes:
        at = utcnow().isoformat()
        try:
            done[box.name] = await poll(rt, box, failures)
            reads[box.name] = {"at": at, "ok": True, "counts": done[box.name]}
        except Exception as e:  # noqa: BLE001 - the server away, a wrong password: next round
            log.warning("mail: cannot read %s: %s", box.name, _error(e))
            reads[box.name] = {"at": at, "ok": False, "error": _error(e)[:300]}
    return done


async def mail_health(rt: Any) -> tuple[bool, dict[str, Any]]:
    """/health's ``mail``: each mailbox's last round (in the process that reads them)."""
    boxes = [b.name for b in rt.settings.mailboxes]
    reads = rt.get(MAIL_READS)
    if reads is None:
        return True, {"mailboxes": boxes, "reader": "not in this process (the leader of jobs:mail reads)"}
    failing = sorted(n for n, r in reads.items() if not r["ok"])
    detail: dict[str, Any] = {"mailboxes": boxes, "last_reads": reads}
    if failing:
        detail["reason"] = f"cannot read mailbox(es): {', '.join(failing)}"
    return not failing, detail


@contextlib.asynccontextmanager
async def mail_reader(rt: Any) -> AsyncIterator[None]:
    """STARTERS entry: with mailboxes configured, the leader of ``jobs:mail`` reads them."""
    s = rt.settings
    if not s.mailboxes:
        yield
        return
    EXTRA_CHECKS["mail"] = mail_health
    task: asyncio.Task[None] | None = None
    failures: dict[tuple[str, str], int] = {}

    async def loop() -> None:
        while True:
            await read_all(rt, failures)
            await asyncio.sleep(s.mail_poll_s)

    async def elected() -> None:
        nonlocal task
        task = asyncio.create_task(loop(), name="mail-reader")

    async def deposed() -> None:
        nonlocal task
        if task is not None:
            t, task = task, None
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        rt.drop(MAIL_READS)

    async with while_leading(s.database_url, "jobs:mail", elected, deposed, s.leader_interval_s):
        yield
