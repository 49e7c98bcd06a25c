"""督办 scheduler: marks overdue cases, creates reminders once, and delivers the outbox.

``sweep(session, now)`` is set-based (a few UPDATE / INSERT … SELECT statements over the
(status, due_at) index, never a Python loop over cases) and idempotent: a reminder row is unique per
(case, stage, kind, due), so running it twice — or after a restart — sends nothing twice.
The caller commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, false, insert, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.context import CASE_CONTEXT, CaseContext, current, install
from app.cases.models import Case, CaseReminder
from app.cases.queries import DUE_STATES
from app.db import utcnow
from app.health.router import EXTRA_CHECKS
from app.outbox.health import outbox_health
from app.outbox.models import OutboxMessage
from app.outbox.service import senders_of
from app.outbox.worker import deliver_due
from app.pg import while_leading
from app.runtime import Key

log = logging.getLogger(__name__)

_STAGE = case(
    (Case.status.in_(("intake", "returned", "reopened")), literal("dispatch")),
    (Case.status == "dispatched", literal("sign")),
    else_=literal("handle"),
)


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _insert(session: AsyncSession) -> Any:
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert(CaseReminder) if name == "postgresql" else sqlite.insert(CaseReminder)


OUTBOX_COLS = [
    "channel",
    "recipient",
    "body",
    "case_id",
    "kind",
    "status",
    "attempts",
    "created_at",
    "next_attempt_at",
]
REMINDER_COLS = ["case_id", "stage", "kind", "due_at", "created_at", "created_by", "notified"]


def _notices(stage: Any, kind: Any, now: datetime) -> Any:
    """Columns of one outbox notice per reminder: to the lead unit (sign/handle) or the platform office."""
    unit_stage = stage.in_(("sign", "handle"))
    stage_label = case(
        (stage == "dispatch", literal("派单")), (stage == "sign", literal("签收")), else_=literal("办理")
    )
    kind_label = case((kind == "overdue", literal("已超期")), else_=literal("即将到期"))
    return (
        case((unit_stage, literal("unit")), else_=literal("office")),
        case((and_(unit_stage, Case.lead_unit.is_not(None)), Case.lead_unit), else_=Case.platform),
        literal("【12345督办】工单 ")
        + Case.number
        + literal(" ")
        + stage_label
        + cast(literal("环节"), String)
        + kind_label
        + literal("，请抓紧办理。"),
        Case.id,
        literal("reminder"),
        literal("pending"),
        literal(0),
        literal(now, OutboxMessage.created_at.type),
        literal(now, OutboxMessage.next_attempt_at.type),
    )


async def sweep(
    session: AsyncSession, now: datetime | None = None, ctx: CaseContext | None = None
) -> dict[str, int]:
    ctx = current(ctx)
    now = now or utcnow()
    threshold = ctx.clock().near_threshold(now)
    pg = session.bind is not None and session.bind.dialect.name == "postgresql"
    open_due = and_(Case.status.in_(DUE_STATES), Case.due_at.is_not(None))
    created = notices = 0
    # reminders first (overdue ones only for cases not yet marked: the steady state costs nothing)
    for kind, cond in (
        ("overdue", and_(Case.due_at < now, Case.overdue_at.is_(None))),
        ("near_due", and_(Case.due_at >= now, Case.due_at <= threshold)),
    ):
        src = select(
            Case.id,
            _STAGE,
            literal(kind),
            Case.due_at,
            literal(now, CaseReminder.created_at.type),
            literal("system"),
            literal(pg),
        ).where(open_due, cond)
        ins = (
            _insert(session)
            .from_select(REMINDER_COLS, src)
            .on_conflict_do_nothing(index_elements=["case_id", "stage", "kind", "due_at"])
        )
        if pg:  # one statement: the new reminders (a CTE) and their outbox notices
            new = ins.returning(CaseReminder.case_id, CaseReminder.stage, CaseReminder.kind).cte(
                "new_reminders"
            )
            notice_src = select(*_notices(new.c.stage, new.c.kind, now)).select_from(
                new.join(Case, Case.id == new.c.case_id)
            )
            n = _rows(await session.execute(insert(OutboxMessage).from_select(OUTBOX_COLS, notice_src)))
            created, notices = created + n, notices + n
        else:
            created += _rows(await session.execute(ins))
    if not pg:  # SQLite has no DML in CTEs: notices for the reminders not yet notified, then mark them
        notice_src = (
            select(*_notices(CaseReminder.stage, CaseReminder.kind, now))
            .select_from(CaseReminder)
            .join(Case, Case.id == CaseReminder.case_id)
            .where(CaseReminder.notified.is_(false()))
        )
        await session.execute(insert(OutboxMessage).from_select(OUTBOX_COLS, notice_src))
        notices = _rows(
            await session.execute(
                update(CaseReminder)
                .where(CaseReminder.notified.is_(false()))
                .values(notified=true())
                .execution_options(synchronize_session=False)
            )
        )
    # Mark only what was reminded: on PostgreSQL each statement has its own snapshot, so a case committed
    # between the reminder insert and this update would otherwise be marked with no reminder, for good.
    reminded = (
        select(CaseReminder.id)
        .where(
            CaseReminder.case_id == Case.id,
            CaseReminder.kind == "overdue",
            CaseReminder.due_at == Case.due_at,
        )
        .exists()
    )
    marked = await session.execute(
        update(Case)
        .where(open_due, Case.due_at < now, Case.overdue_at.is_(None), reminded)
        .values(overdue_at=now)
        .execution_options(synchronize_session=False)
    )
    return {"marked_overdue": _rows(marked), "reminders": created, "notices": notices}


#: Other domains' periodic reminders, run by this scheduler before it delivers the outbox (so what
#: they queue goes out in the same run): name -> fn(runtime, session, now) returning a count. The
#: scheduler commits after each; one that fails is logged and the others go on.
EXTRA_SWEEPS: dict[str, Callable[[Any, AsyncSession, datetime], Awaitable[int]]] = {}


async def run_once(runtime: Any, now: datetime | None = None) -> dict[str, int]:
    ctx = runtime.get(CASE_CONTEXT) or install(runtime)
    async with runtime.db.sessionmaker() as session:
        counts = await sweep(session, now, ctx)
        await session.commit()
    for name, fn in list(EXTRA_SWEEPS.items()):
        try:
            async with runtime.db.sessionmaker() as session:
                counts[name] = await fn(runtime, session, now or utcnow())
                await session.commit()
        except Exception:
            log.exception("%s sweep failed; retrying next interval", name)
    sent = await deliver_due(
        runtime.db.sessionmaker,
        senders_of(runtime),
        now=now,
        retry_s=ctx.rules.outbox_retry_s,
        max_attempts=ctx.rules.outbox_max_attempts,
    )
    return {**counts, **sent}


CASE_SCHEDULER: Key[asyncio.Task[None] | None] = Key("case_scheduler")


@asynccontextmanager
async def case_scheduler(runtime: Any) -> AsyncIterator[None]:
    """STARTERS entry: installs the case context and runs the sweep every ``sweep_interval_s``."""
    ctx = install(runtime)
    EXTRA_CHECKS["outbox"] = outbox_health
    interval = ctx.rules.sweep_interval_s
    task: asyncio.Task[None] | None = None

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await run_once(runtime)
            except Exception:
                log.exception("case sweep failed; retrying next interval")

    async def elected() -> None:
        nonlocal task
        if interval > 0:
            task = asyncio.create_task(loop(), name="case-scheduler")
        runtime.put(CASE_SCHEDULER, task)

    async def deposed() -> None:
        nonlocal task
        runtime.put(CASE_SCHEDULER, None)
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            task = None

    runtime.put(CASE_SCHEDULER, None)
    # the sweep and the outbox run in one process at a time (PostgreSQL: the leader of jobs:cases)
    url, every = runtime.settings.database_url, runtime.settings.leader_interval_s
    async with while_leading(url, "jobs:cases", elected, deposed, every):
        yield
