"""GET /metrics in the Prometheus text format.

Two kinds of figures:
- counters and histograms of the process (app.observability.instruments), moved by domain events on the hub
  (calls routed/ended, queue answered/abandoned with wait, AMI logins, transcriptions) and by the
  FastAGI server's observer (request latency);
- gauges read from the database at scrape time (job queue depths, outbox backlog and its oldest
  message, survey call-backs by status, today's offered/answered calls and answer rate), so they are
  right whichever process did the work.

Access (docs/adr/2026-12-02-metrics-access.md): a bearer token equal to settings.metrics_token (what a
Prometheus server sends, from its credentials file), or a logged-in administrator. Nothing else.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.events import Event
from app.observability import instruments as m

if TYPE_CHECKING:
    from app.runtime import Runtime

router = APIRouter(tags=["ops"])


# ---- events → counters -------------------------------------------------------------------------


def _label(v: Any) -> str:
    return str(v) if v not in (None, "") else "unknown"


def subscribe(hub: Any) -> None:
    """Subscribes the counters to one service's event hub."""
    seen_servers: set[str] = set()

    async def on_event(e: Event) -> None:
        d = e.data
        if e.topic == "call.routed":
            m.CALLS.labels(_label(d.get("platform")), _label(d.get("route"))).inc()
        elif e.topic == "call.ended":
            m.CALLS_ENDED.labels(_label(d.get("platform")), _label(d.get("outcome"))).inc()
        elif e.topic == "agent.connect":
            q = _label(d.get("queue"))
            m.QUEUE_ANSWERED.labels(q).inc()
            if d.get("hold_s") is not None:
                m.QUEUE_WAIT.labels(q, "answered").observe(float(d["hold_s"]))
        elif e.topic == "call.abandoned":
            q = _label(d.get("queue"))
            m.QUEUE_ABANDONED.labels(q).inc()
            if d.get("hold_s") is not None:
                m.QUEUE_WAIT.labels(q, "abandoned").observe(float(d["hold_s"]))
        elif e.topic == "telephony.resync":  # published after every AMI login
            server = _label(d.get("server"))
            m.AMI_LOGINS.labels(server).inc()
            if server in seen_servers:
                m.AMI_RECONNECTS.labels(server).inc()
            seen_servers.add(server)
        elif e.topic == "voicemail.transcribed" and d.get("seconds") is not None:
            m.TRANSCRIPTION.labels(_label(d.get("engine")), _label(d.get("status"))).observe(
                float(d["seconds"])
            )

    for prefix in ("call.", "agent.connect", "telephony.resync", "voicemail.transcribed"):
        hub.subscribe(prefix, on_event)


@asynccontextmanager
async def metrics_events(rt: Runtime) -> AsyncIterator[None]:
    """Starter (app.lifecycle): the counters follow this service's events."""
    subscribe(rt.hub)
    yield


# ---- database → gauges -------------------------------------------------------------------------


class _Snapshot(Collector):
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Any:
        return iter(self.families)


async def database_gauges(rt: Runtime) -> list[GaugeMetricFamily]:
    from app.calls.models import Call
    from app.outbox.models import PENDING as OUTBOX_PENDING
    from app.outbox.models import OutboxMessage
    from app.stats.kpi import day_bounds, today
    from app.surveys.models import Survey
    from app.voicemail.models import TranscriptionJob

    jobs = GaugeMetricFamily("hotline_jobs", "Durable jobs in the database by queue and status",
                             labels=["queue", "status"])  # fmt: skip
    backlog = GaugeMetricFamily("hotline_outbox_backlog", "Outbound messages not yet sent, by channel",
                                labels=["channel"])  # fmt: skip
    oldest = GaugeMetricFamily("hotline_outbox_oldest_pending_seconds",
                               "Age of the oldest outbound message still pending (0 when none)")  # fmt: skip
    offered = GaugeMetricFamily("hotline_calls_offered_today", "Calls that entered an agent queue today "
                                "(platform's local day)", labels=["platform"])  # fmt: skip
    answered = GaugeMetricFamily(
        "hotline_calls_answered_today", "Queued calls answered today", labels=["platform"]
    )
    rate = GaugeMetricFamily("hotline_answer_rate_today", "answered / offered today (GB/T 33358 接通率)",
                             labels=["platform"])  # fmt: skip
    now = datetime.now(UTC)
    start, _ = day_bounds(today(now, rt.config.zone), rt.config.zone)
    async with rt.db.sessionmaker() as s:
        for st, n in await s.execute(
            select(TranscriptionJob.status, func.count()).group_by(TranscriptionJob.status)
        ):
            jobs.add_metric(["transcription", st], n)
        for st, n in await s.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ):
            jobs.add_metric(["outbox", st], n)
        for st, n in await s.execute(select(Survey.status, func.count()).group_by(Survey.status)):
            jobs.add_metric(["surveys", st], n)
        pending = OutboxMessage.status == OUTBOX_PENDING
        channels = await s.execute(
            select(OutboxMessage.channel, func.count()).where(pending).group_by(OutboxMessage.channel)
        )
        for ch, n in channels:
            backlog.add_metric([ch], n)
        first = await s.scalar(select(func.min(OutboxMessage.created_at)).where(pending))
        if isinstance(first, str):  # SQLite hands min() back as text
            first = datetime.fromisoformat(first)
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=UTC)
        oldest.add_metric([], max(0.0, (now - first).total_seconds()) if first else 0.0)
        rows = await s.execute(
            select(Call.platform, func.count(), func.count(Call.answered_at))
            .where(Call.arrived_at >= start, Call.queued_at >= start)  # arrived_at is indexed
            .where(Call.is_test.is_(False))  # simulated calls (`hotline call`) are tests
            .group_by(Call.platform)
        )
        for platform, n_offered, n_answered in rows:
            p = _label(platform)
            offered.add_metric([p], n_offered)
            answered.add_metric([p], n_answered)
            rate.add_metric([p], n_answered / n_offered if n_offered else 0.0)
    return [jobs, backlog, oldest, offered, answered, rate]


# ---- the route ---------------------------------------------------------------------------------


async def _authorise(request: Request) -> None:
    rt = request.app.state.runtime
    token = rt.settings.metrics_token
    header = request.headers.get("authorization", "")
    if (
        token
        and header.lower().startswith("bearer ")
        and hmac.compare_digest(
            header[7:].strip().encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")
        )
    ):
        return
    from app.auth.deps import current_user
    from app.auth.models import Role

    async with rt.db.sessionmaker() as session:
        user = await current_user(request, session)
    if user.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "metrics are for administrators and the metrics token")


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format. Authorization: Bearer <metrics_token>, or an administrator's session."""
    await _authorise(request)
    rt = request.app.state.runtime
    t0 = time.perf_counter()
    scrape = CollectorRegistry(auto_describe=False)
    families = await database_gauges(rt)
    families.append(
        GaugeMetricFamily(
            "hotline_metrics_database_seconds",
            "Time to read the database gauges",
            value=time.perf_counter() - t0,
        )  # fmt: skip
    )
    scrape.register(_Snapshot(families))
    body = generate_latest(m.REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
