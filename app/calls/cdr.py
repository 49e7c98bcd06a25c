"""Reconciles calls the backend never saw from Asterisk's CDR (cdr_csv Master.csv).

When the whole backend is down, the dialplan still queues every caller (default queue) and Asterisk
writes a CDR row for the call. On start-up and after every AMI (re)connect the backend reads the rows
it has not seen yet (by byte offset, remembered in var/) and creates the missing call rows
(route `fallback`, outcome from the CDR disposition). Only the hotline leg of a call is imported.
A call it routed but whose answer it missed (AMI lost meanwhile) gets the answer from its CDR row.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.calls import models as m
from app.calls import service

log = logging.getLogger(__name__)

# cdr_csv column order with loguniqueid = yes and loguserfield = yes (Asterisk 16)
COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
)
HOTLINE_CONTEXTS = ("hotline-inbound", "hotline-queue", "hotline-voicemail")


def _time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)  # usegmtime = yes
    except ValueError:
        return None


def parse(text: str) -> list[dict[str, str]]:
    rows = []
    for raw in csv.reader(io.StringIO(text)):
        if len(raw) < len(COLUMNS) - 1:
            continue
        row = dict(zip(COLUMNS, raw, strict=False))
        ctx = row.get("dcontext", "")
        if (ctx in HOTLINE_CONTEXTS or ctx.startswith("trunk-in-")) and row.get("uniqueid"):
            rows.append(row)
    return rows


def _queue(row: dict[str, str]) -> str | None:
    if row.get("lastapp") == "Queue":
        return row.get("lastdata", "").split(",", 1)[0] or None
    return None


async def import_rows(
    session: AsyncSession, rows: list[dict[str, str]], server: str, queue_platform: dict[str, str]
) -> int:
    created = 0
    for row in rows:
        uid = row["uniqueid"]
        known = await service.find(session, uid)
        if known is not None:
            created += _answered_unseen(known, row)
            continue
        start = _time(row.get("start", "")) or datetime.now(UTC)
        queue = _queue(row)
        call = await service.get_or_create(session, uid, server=server, caller=row.get("src", ""))
        answered = row.get("disposition") == "ANSWERED" and bool(row.get("dstchannel"))
        call.arrived_at = start
        call.channel = row.get("channel")
        call.route = "voicemail" if row.get("dcontext") == "hotline-voicemail" else "fallback"
        call.queue = queue
        call.platform = queue_platform.get(queue or "", None)
        call.answered_at = _time(row.get("answer", "")) if answered else None
        call.ended_at = _time(row.get("end", ""))
        call.talk_s = int(row["billsec"]) if answered and row.get("billsec", "").isdigit() else None
        call.outcome = (
            m.COMPLETED
            if answered
            else m.VOICEMAIL
            if call.route == "voicemail"
            else m.ABANDONED
            if queue
            else m.UNANSWERED
        )
        call.reason = "reconciled from Asterisk CDR (backend was unavailable)"
        created += 1
    return created


def _answered_unseen(call: m.Call, row: dict[str, str]) -> int:
    """A call the backend routed (its row exists) but whose answer it never saw: the AMI session was
    lost before an agent answered and came back after the hang-up (the resync closed the row as not
    answered). The CDR says a queue member answered: the row gets the answer, the talk time and the
    outcome (and the recording sweep then checks its file). The CDR has no time of the agent's answer
    (its ``answer`` is the hotline's, before the queue): answered_at is the later of it and the routing
    time, and talk_s the CDR's billsec (queue wait included). Returns 1 when the row was corrected."""
    if call.answered_at is not None or row.get("disposition") != "ANSWERED" or not row.get("dstchannel"):
        return 0
    queue = _queue(row)
    if queue is None:
        return 0
    answered = _time(row.get("answer", ""))
    if answered is None:
        return 0
    call.answered_at = max(answered, call.routed_at) if call.routed_at else answered
    call.ended_at = call.ended_at or _time(row.get("end", ""))
    call.queue = call.queue or queue
    call.talk_s = int(row["billsec"]) if row.get("billsec", "").isdigit() else call.talk_s
    call.outcome = m.COMPLETED
    return 1


class CdrReconciler:
    """Reads Master.csv from where it stopped last time."""

    def __init__(self, csv_path: Path, state_path: Path) -> None:
        self.csv_path = csv_path
        self.state_path = state_path

    def _offset(self) -> int:
        try:
            return int(self.state_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def read_new(self) -> tuple[list[dict[str, str]], int]:
        if not self.csv_path.exists():
            return [], 0
        offset = self._offset()
        size = self.csv_path.stat().st_size
        if size < offset:  # rotated
            offset = 0
        with self.csv_path.open("rb") as f:
            f.seek(offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only whole lines
        return parse(data[:end].decode("utf-8", errors="replace")), offset + end

    def commit(self, new_offset: int) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(str(new_offset))
