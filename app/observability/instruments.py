"""The process's Prometheus instruments (one registry per process, the way Prometheus scrapes a
target). Imports only prometheus_client, so any part of the service may record into it.

Counters and histograms here move as things happen; figures that live in the database (job queue
depths, outbox backlog, today's answer rate) are read at scrape time by app.ops.metrics."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

CALLS = Counter(
    "hotline_calls", "Inbound calls routed by the dialplan, by platform and route (queue, voicemail, fallback)",
    ["platform", "route"], registry=REGISTRY,
)  # fmt: skip
CALLS_ENDED = Counter(
    "hotline_calls_ended", "Inbound calls that ended, by platform and outcome", ["platform", "outcome"],
    registry=REGISTRY,
)  # fmt: skip
QUEUE_ANSWERED = Counter(
    "hotline_queue_answered", "Queued calls an agent answered", ["queue"], registry=REGISTRY
)
QUEUE_ABANDONED = Counter(
    "hotline_queue_abandoned",
    "Queued calls the caller hung up on before an answer",
    ["queue"],
    registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "hotline_queue_wait_seconds", "Time a caller waited in queue (Asterisk HoldTime), by how the wait ended",
    ["queue", "result"], buckets=(1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600), registry=REGISTRY,
)  # fmt: skip
AGI_LATENCY = Histogram(
    "hotline_agi_request_seconds", "FastAGI request handling time, by route and outcome",
    ["route", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0), registry=REGISTRY,
)  # fmt: skip
AMI_LOGINS = Counter("hotline_ami_logins", "AMI logins (first connection and every reconnect)", ["server"],
                     registry=REGISTRY)  # fmt: skip
AMI_RECONNECTS = Counter(
    "hotline_ami_reconnects", "AMI logins after the first one: the connection was lost and re-established",
    ["server"], registry=REGISTRY,
)  # fmt: skip
AMI_EVENTS = Counter(
    "hotline_ami_events", "AMI events this process's session received, by server, the process's role for "
    "that server when it came (leader: consumes its events; follower: actions and listeners only) and event",
    ["server", "role", "event"], registry=REGISTRY,
)  # fmt: skip
TRANSCRIPTION = Histogram(
    "hotline_transcription_seconds", "Wall time to transcribe one voicemail, by engine and result",
    ["engine", "status"], buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600), registry=REGISTRY,
)  # fmt: skip
HTTP_REQUESTS = Counter(
    "hotline_http_requests", "HTTP requests answered, by method and status class", ["method", "status"],
    registry=REGISTRY,
)  # fmt: skip


def observe_agi(route: str, seconds: float, outcome: str) -> None:
    """Hook for the FastAGI server (agi_handlers.server): one call per request."""
    AGI_LATENCY.labels(route or "unknown", outcome).observe(seconds)


_ami_events: dict[tuple[str, bool, str], Counter] = {}


def observe_ami_event(server: str, leading: bool, event: str) -> None:
    """Hook for the AMI sessions (app.telephony.lifecycle): one call per event received. The event
    names are bounded by manager.conf's eventfilter (asterisk_conf.ami_rights.AMI_EVENTS)."""
    key = (server, leading, event)
    child = _ami_events.get(key)
    if child is None:
        child = _ami_events[key] = AMI_EVENTS.labels(server, "leader" if leading else "follower", event or "none")
    child.inc()
