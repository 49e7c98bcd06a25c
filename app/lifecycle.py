"""Background components started with the service, in order; each is an async context manager
taking the Runtime. A new component (a worker, a scheduler) adds one line here. Part of the
composition root (see app.wiring).

Several processes on PostgreSQL (docs/adr/process-model.md): the message bus comes first (every
later component's events cross to the other processes); telephony elects one AMI consumer per
Asterisk server; the schedulers' loops run in one process at a time (app.pg.while_leading)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from app.agents.component import agents
from app.agents.live import live_transcripts
from app.bus import message_bus
from app.callbacks.component import callbacks
from app.callbacks.queued import queue_callbacks
from app.callbacks.scheduler import callback_retries
from app.callrec.component import call_recordings, recording_purge
from app.callrec.sweep import recording_sweep
from app.cases.scheduler import case_scheduler
from app.exchange.knowledge_copies import knowledge_pulls
from app.exchange.worker import exchange
from app.kb.component import knowledge_base
from app.mail.reader import mail_reader
from app.ops.metrics import metrics_events
from app.pg import while_leading
from app.reports.component import reports
from app.sms.component import sms_gateway
from app.stats.component import stats
from app.surveys.scheduler import survey_scheduler
from app.transfers.component import transfers
from app.voicemail.lifecycle import transcription
from app.wiring import telephony_with_agi

Starter = Callable[[Any], AbstractAsyncContextManager[None]]


def singleton(name: str, starter: Starter) -> Starter:
    """``starter`` runs in the one process that leads ``jobs:<name>`` (in every process on SQLite,
    which has one); another takes over when that process dies."""

    @asynccontextmanager
    async def run(rt: Any) -> AsyncIterator[None]:
        stack: AsyncExitStack | None = None

        async def elected() -> None:
            nonlocal stack
            stack = AsyncExitStack()
            await stack.enter_async_context(starter(rt))

        async def deposed() -> None:
            nonlocal stack
            if stack is not None:
                s, stack = stack, None
                await s.aclose()

        url, every = rt.settings.database_url, rt.settings.leader_interval_s
        async with while_leading(url, f"jobs:{name}", elected, deposed, every):
            yield

    return run


STARTERS: list[Starter] = [
    message_bus,  # first: the other processes see every event published from here on
    metrics_events,  # counts what the others publish from their start on
    telephony_with_agi,
    sms_gateway,  # before the case scheduler: its first outbox run already has the SMS sender
    case_scheduler,  # (its sweep and outbox loop: one process at a time)
    mail_reader,  # the platforms' mailboxes over IMAP (one process at a time: jobs:mail)
    knowledge_base,  # review reminders through the case scheduler
    reports,  # the daily and monthly reports, by e-mail through the case scheduler
    exchange,  # cases with other deployments: the transition listener and the delivery worker
    singleton("knowledge-pull", knowledge_pulls),  # peers' published knowledge kept here as copies
    agents,  # the agent desktop's background work
    transfers,  # live transfers followed through AMI events; the receiving agent's screen-pop
    stats,  # the wallboard's KPI cache
    live_transcripts,  # agent assist: the caller's side transcribed live
    callbacks,  # call-backs followed through AMI events
    queue_callbacks,  # 排队回拨: a caller's request leaves a placeholder in the queue; followed through AMI events
    singleton("callback-retry", callback_retries),  # 排队回拨: unanswered call-backs tried again (one process)
    survey_scheduler,  # (its loop: one process at a time)
    call_recordings,  # each answered call's MixMonitor file attached to its call (or flagged failed)
    singleton("recording-purge", recording_purge),  # recordings past their retention (one process)
    singleton("recording-sweep", recording_sweep),  # answered calls whose recording nobody checked
    singleton("transcription", transcription),  # voicemail jobs; imports orphaned recordings once
]
