"""The survey scheduler (a STARTERS component): every tick it schedules surveys for fed-back cases,
fails attempts whose lease ran out, claims due surveys within each platform's outbound limit
(committed before anything is dialled, so a restart never calls twice) and originates them.

What a call did comes back as: OriginateResponse (failure: no answer / busy), the survey AGI route
(answered, digits, rating), or the Hangup of the call (an answered call that ended without a report)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agi_handlers import channel_vars as cv
from app.db import utcnow
from app.events import Event, commit_and_publish
from app.pg import while_leading
from app.runtime import Key
from app.surveys import models as m
from app.surveys import service
from app.surveys.rules import SurveyRules, rules_of
from app.surveys.schedule import CallingRules
from app.telephony.ami import AmiError
from app.telephony.lifecycle import TELEPHONY

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

# OriginateResponse Reason (the control frame that ended the dial attempt)
BUSY_REASONS = {"5"}
CONGESTION_REASONS = {"8"}


def outcome_of_failure(reason: str) -> tuple[str, str]:
    if reason in BUSY_REASONS:
        return m.BUSY, "忙线"
    if reason in CONGESTION_REASONS:
        return m.FAILED, "线路拥塞"
    return m.NO_ANSWER, f"无人接听 (reason {reason or '?'})"


class SurveyScheduler:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.rules: SurveyRules = rules_of(rt)
        self.calling: CallingRules = self.rules.calling(rt.config.zone)
        self.wake = asyncio.Event()
        self.originated = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listening: set[int] = set()
        self.leading = False  # this process runs the loop (see survey_scheduler)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    # --- events -------------------------------------------------------------------------------
    async def on_event(self, ev: Event) -> None:
        if not self.leading:
            return
        if ev.topic == "case.transition" and ev.data.get("to") == "fed_back":
            self.wake.set()
        elif ev.topic == "outbound.hangup" and str(ev.data.get("linkedid", "")).startswith(m.SURVEY_PREFIX):
            self.spawn(self._hung_up(str(ev.data["linkedid"])))

    def on_ami(self, _server: str, ev: dict[str, str]) -> None:
        if ev.get("Event") != "OriginateResponse" or not ev.get("ActionID", "").startswith(m.SURVEY_PREFIX):
            return
        cid = ev["ActionID"]
        if ev.get("Response") == "Success":
            self.spawn(self.answered(cid))
        else:
            outcome, detail = outcome_of_failure(ev.get("Reason", ""))
            self.spawn(self.finish(cid, outcome, detail=detail))

    def listen(self) -> None:
        tel = self.rt.get(TELEPHONY)
        for conn in tel.connections.values() if tel is not None else []:
            if id(conn) not in self._listening:
                conn.add_listener(self.on_ami)
                self._listening.add(id(conn))

    def unlisten(self) -> None:
        tel = self.rt.get(TELEPHONY)
        for conn in tel.connections.values() if tel is not None else []:
            conn.remove_listener(self.on_ami)
        self._listening.clear()

    async def answered(self, cid: str) -> None:
        async with self.rt.db.sessionmaker() as session:
            await service.mark_answered(session, cid, utcnow())
            await session.commit()

    async def _hung_up(self, cid: str) -> None:
        async with self.rt.db.sessionmaker() as session:
            freed = await service.mark_ended(session, cid, utcnow())
            await session.commit()
        if freed:
            self.wake.set()  # an outbound slot is free
        await asyncio.sleep(2.0)  # the AGI route's own report (digits, rating) comes first
        await self.finish(cid, m.NO_DIGIT, detail="通话结束，未收到评价", only_if=(m.ANSWERED,))

    async def finish(self, cid: str, outcome: str, **kw: Any) -> list[Event]:
        async with self.rt.db.sessionmaker() as session:
            events = await service.finish_attempt(
                session, cid, outcome, self.rules, self.calling, utcnow(), **kw
            )
            await commit_and_publish(session, self.rt.hub, events)
        if events:
            self.wake.set()  # a slot is free
        return events

    # --- the loop -------------------------------------------------------------------------------
    async def tick(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        self.listen()
        async with self.rt.db.sessionmaker() as session:
            await service.schedule_fed_back(session, self.calling, now)
            events = await service.expire_leases(session, self.rules, self.calling, now)
            await commit_and_publish(session, self.rt.hub, events)
        tel = self.rt.get(TELEPHONY)
        if tel is None or not any(c.connected for c in tel.connections.values()):
            return 0
        async with self.rt.db.sessionmaker() as session:
            claimed = await service.claim_due(session, self.rules, now)
            await session.commit()  # claimed before dialled: a restart never calls twice
        for c in claimed:
            await self._originate(tel, c)
        return len(claimed)

    async def _originate(self, tel: Any, c: service.Claimed) -> None:
        variables = [f"{cv.SURVEY_ID}={c.survey_id}"]
        extra = self.rules.sim_vars.get(c.number)
        if extra:
            variables.append(extra)
        action = {
            "Action": "Originate",
            "ActionID": c.channel_id,  # OriginateResponse carries it back
            "Channel": self.rules.dial.format(number=c.number),
            "Context": "hotline-survey",
            "Exten": "s",
            "Priority": "1",
            "CallerID": f'"12345回访" <{c.number}>',
            "ChannelId": c.channel_id,
            "OtherChannelId": f"{c.channel_id}-2",
            "Timeout": str(int(self.rules.originate_timeout_s * 1000)),
            "Variable": ",".join(variables),
        }
        try:
            await tel.action(action, platform=c.platform, timeout=5)
            self.originated += 1
        except AmiError as e:
            await self.finish(c.channel_id, m.FAILED, detail=f"Asterisk: {e}"[:250])

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("survey scheduler tick failed; retrying next tick")
            try:
                async with asyncio.timeout(self.rules.tick_s):
                    await self.wake.wait()
            except TimeoutError:
                pass
            self.wake.clear()

    async def close(self) -> None:
        self.unlisten()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


SURVEYS: Key[SurveyScheduler] = Key("surveys")


@asynccontextmanager
async def survey_scheduler(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry. Every process has the scheduler (the survey AGI route reports through it);
    its loop and its AMI listener run in one process at a time (PostgreSQL: the leader of
    jobs:surveys), which also follows the survey calls' hang-ups wherever the AMI leader runs."""
    comp = SurveyScheduler(rt)
    rt.put(SURVEYS, comp)
    rt.hub.subscribe("case.transition", comp.on_event, everywhere=True)
    rt.hub.subscribe("outbound.hangup", comp.on_event, everywhere=True)
    loop: asyncio.Task[None] | None = None

    async def elected() -> None:
        nonlocal loop
        comp.leading = True
        comp.listen()
        loop = comp.spawn(comp.run()) if comp.rules.tick_s > 0 else None

    async def deposed() -> None:
        nonlocal loop
        comp.leading = False
        comp.unlisten()
        if loop is not None:
            loop.cancel()
            loop = None

    try:
        url, every = rt.settings.database_url, rt.settings.leader_interval_s
        async with while_leading(url, "jobs:surveys", elected, deposed, every):
            yield
    finally:
        rt.hub.unsubscribe("case.transition", comp.on_event)
        rt.hub.unsubscribe("outbound.hangup", comp.on_event)
        await comp.close()
