"""Hot topics over the cases' text (summary and detail, which holds voicemail transcripts): term counts
per local day, prefecture and category (segmentation in a worker thread; a finished day's counts are
kept in memory), bursts against each place's own baseline (app.reports.hot), the trend of a term, and
the alert when a burst starts (a topic_alerts row and an e-mail to the report recipients). No commits."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import TEST_CALL_PREFIX
from app.cases import workflow as wf
from app.cases.models import Case
from app.cases.rules import rules_of
from app.outbox.email import CHANNEL
from app.outbox.service import enqueue
from app.reports import hot, hotmap
from app.reports.models import TopicAlert
from app.runtime import Key

if TYPE_CHECKING:
    from app.runtime import Runtime

Counts = Counter[tuple[str, str, str]]
HOT_CACHE: Key[dict[tuple[date, tuple[str, ...] | None], Counts]] = Key("hot_topic_days")
HOT_LAST_SWEEP: Key[list[float]] = Key("hot_topic_last_sweep")
CACHE_DAYS = 400
SWEEP_EVERY_S = 600.0
UNCATEGORISED = "00"


def _bounds(day: date, rt: Runtime) -> tuple[datetime, datetime]:
    start = datetime.combine(day, dtime(0), tzinfo=rt.config.zone).astimezone(UTC)
    return start, start + timedelta(days=1)


async def day_docs(
    rt: Runtime, session: AsyncSession, day: date, platforms: tuple[str, ...] | None
) -> list[tuple[str, str, str]]:
    start, end = _bounds(day, rt)
    q = select(
        Case.summary,
        Case.detail,
        func.coalesce(Case.prefecture, Case.platform),
        func.coalesce(func.substr(Case.category_code, 1, 2), UNCATEGORISED),
    ).where(
        Case.created_at >= start,
        Case.created_at < end,
        Case.status != wf.MERGED,
        or_(Case.call_uniqueid.is_(None), not_(Case.call_uniqueid.startswith(TEST_CALL_PREFIX))),
    )
    if platforms is not None:
        q = q.where(Case.platform.in_(platforms))
    return [(f"{s}\n{d or ''}", p, c) for s, d, p, c in (await session.execute(q)).all()]


async def day_counts(
    rt: Runtime, session: AsyncSession, day: date, platforms: tuple[str, ...] | None, today: date
) -> Counts:
    cache = rt.get(HOT_CACHE)
    if cache is None:
        cache = {}
        rt.put(HOT_CACHE, cache)
    key = (day, platforms)
    if key in cache:
        return cache[key]
    docs = await day_docs(rt, session, day, platforms)
    counts = await asyncio.to_thread(hot.count, docs, place_names(rt))  # not in the event loop
    if day < today:  # a finished day does not change any more (nearly: late edits wait for a restart)
        if len(cache) >= CACHE_DAYS:
            cache.pop(next(iter(cache)))
        cache[key] = counts
    return counts


def place_names(rt: Runtime) -> frozenset[str]:
    """The platforms' place names (昆明, 昆明市, 云南省 …): where a matter is, never what it is."""
    names: set[str] = set()
    for p in rt.config.platforms:
        names.update({p.short_name, p.short_name + "市", p.short_name + "州", *p.geo_names})
        names.update(g.removeprefix("云南省") for g in p.geo_names)
    return frozenset(n for n in names if n)


def _today(rt: Runtime, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(rt.config.zone).date()


async def bursts(
    rt: Runtime, session: AsyncSession, day: date, platforms: tuple[str, ...] | None, rule: hot.Rule
) -> tuple[Counts, list[hot.Burst]]:
    today = _today(rt)
    counts = await day_counts(rt, session, day, platforms, today)
    history = [
        await day_counts(rt, session, day - timedelta(days=i), platforms, today)
        for i in range(rule.baseline_days, 0, -1)
    ]
    return counts, hot.detect(counts, history, rule)


def _names(rt: Runtime) -> tuple[dict[str, str], dict[str, str]]:
    places = {p.code: p.short_name for p in rt.config.platforms}
    cats = {c.code: c.name for c in rules_of(rt).categories} | {UNCATEGORISED: "未分类"}
    return places, cats


async def hot_topics(
    rt: Runtime, session: AsyncSession, day: date, platforms: tuple[str, ...] | None, rule: hot.Rule
) -> dict[str, Any]:
    counts, found = await bursts(rt, session, day, platforms, rule)
    places, cats = _names(rt)
    top: Counter[str] = Counter()
    by_place: dict[str, Counter[str]] = {}
    for (term, pref, _cat), n in counts.items():
        top[term] += n
        by_place.setdefault(pref, Counter())[term] += n
    alerts = list(
        await session.scalars(
            select(TopicAlert).where(TopicAlert.day == day.isoformat()).order_by(TopicAlert.id)
        )
    )
    if platforms is not None:
        alerts = [a for a in alerts if a.prefecture in platforms]
    burst_rows = [
        {
            "term": b.term,
            "prefecture": b.prefecture,
            "prefecture_label": places.get(b.prefecture, b.prefecture),
            "category": b.category,
            "category_label": cats.get(b.category, b.category),
            "count": b.count,
            "baseline": b.baseline,
            "z": b.z,
        }
        for b in found
    ]
    return {
        "day": day.isoformat(),
        "bursts": burst_rows,
        "map": hotmap.tiles(places, burst_rows, platforms),
        "top": [{"term": t, "count": n} for t, n in top.most_common(20)],
        "by_prefecture": [
            {
                "prefecture": p,
                "label": places.get(p, p),
                "terms": [{"term": t, "count": n} for t, n in c.most_common(5)],
            }
            for p, c in sorted(by_place.items())
        ],
        "alerts": [
            {
                "term": a.term,
                "prefecture": a.prefecture,
                "category": a.category,
                "count": a.count,
                "at": a.created_at.isoformat(),
            }
            for a in alerts
        ],  # fmt: skip
    }


async def trend(
    rt: Runtime, session: AsyncSession, term: str, start: date, end: date, platforms: tuple[str, ...] | None
) -> dict[str, Any]:
    today = _today(rt)
    days: list[dict[str, Any]] = []
    places: set[str] = set()
    d = start
    while d <= end:
        counts = await day_counts(rt, session, d, platforms, today)
        per: Counter[str] = Counter()
        for (t, pref, _cat), n in counts.items():
            if t == term:
                per[pref] += n
        places.update(per)
        days.append({"day": d.isoformat(), "count": sum(per.values()), "by_prefecture": dict(per)})
        d += timedelta(days=1)
    return {"term": term, "days": days, "prefectures": sorted(places)}


async def alert_sweep(rt: Runtime, session: AsyncSession, now: datetime, *, force: bool = False) -> int:
    """EXTRA_SWEEPS entry (at most every SWEEP_EVERY_S): today's bursts that have not been alerted get a
    topic_alerts row and an e-mail to the report recipients. Returns the number of new alerts."""
    last = rt.get(HOT_LAST_SWEEP)
    if last is None:
        last = [0.0]
        rt.put(HOT_LAST_SWEEP, last)
    if not force and time.monotonic() - last[0] < SWEEP_EVERY_S:
        return 0
    last[0] = time.monotonic()
    day = _today(rt, now)
    _, found = await bursts(rt, session, day, None, hot.Rule())
    seen = {
        (a.term, a.prefecture, a.category)
        for a in await session.scalars(select(TopicAlert).where(TopicAlert.day == day.isoformat()))
    }
    places, cats = _names(rt)
    new = [b for b in found if (b.term[:32], b.prefecture, b.category) not in seen]
    for b in new:
        session.add(
            TopicAlert(term=b.term[:32], prefecture=b.prefecture, category=b.category, day=day.isoformat(),
                       count=b.count, baseline=b.baseline, created_at=now)
        )  # fmt: skip
    if new and rt.settings.smtp_host:
        lines = [
            f"{places.get(b.prefecture, b.prefecture)} · {cats.get(b.category, b.category)}：「{b.term}」"
            f"今日 {b.count} 件，平时 {b.baseline:g} 件/日"
            for b in new
        ]
        body = f"热点预警（{day.isoformat()}）：{lines[0]}\n\n" + "\n".join(lines)
        for address in rt.settings.report_recipients:
            enqueue(session, channel=CHANNEL, recipient=address, body=body, kind="hot_topic", now=now)
    await session.flush()
    return len(new)
