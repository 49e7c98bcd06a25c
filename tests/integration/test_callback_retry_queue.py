"""A queue call-back's retry waits in the queue the caller asked in, skill included, on SQLite and
PostgreSQL (no Asterisk: the request the AGI route makes, the claim the retry loop makes, and the
Originate it would send). Before, a retry's placeholder joined the platform queue: a water caller's
second attempt could be answered by any agent, not by those with the skill."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.callbacks import models as cbm
from app.callbacks.models import Callback
from app.callbacks.queued import request
from app.callbacks.scheduler import claim, retry_action
from app.calls.models import Call
from app.db import utcnow
from tests.integration.test_cases_helpers import world


def _variables(action: dict[str, str]) -> dict[str, str]:
    return dict(v.split("=", 1) for v in action["Variable"].split(","))


async def test_a_retry_waits_in_the_skill_queue_the_caller_asked_in(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        settings = w.runtime.config.queue_callback
        async with w.session() as s:
            for uid in ("u-water", "u-old"):
                s.add(Call(uniqueid=uid, server="main", caller="13987112001", caller_e164="+8613987112001",
                           caller_kind="mobile", platform="kunming", queue="q-kunming"))  # fmt: skip
            await s.flush()
            water = await request(s, "u-water", "q-kunming-skill-water", "3")
            old = await request(s, "u-old", "q-kunming", "2")
            assert water is not None and old is not None
            # a request made before callbacks.queue existed: its platform queue, from the placeholder's row
            await s.execute(update(Callback).where(Callback.id == old.id).values(queue=None))
            past = utcnow() - timedelta(seconds=1)
            for cb in (water, old):  # the citizen did not answer the first attempt
                await s.execute(update(Callback).where(Callback.id == cb.id)
                                .values(status=cbm.RETRY, next_attempt_at=past))  # fmt: skip
            await s.commit()
            ids = {"water": water.id, "old": old.id}

        async with w.session() as s:
            got = await claim(s, ids["water"], utcnow())
            assert got is not None
            cb, row = got
            first = _variables(retry_action(cb, settings))
            await s.commit()
        assert cb.attempts == 2 and cb.status == cbm.QUEUED
        assert first["QCB_QUEUE"] == "q-kunming-skill-water"
        assert first["QCB_MAXPEN"] == "4"  # only agents with the skill answer it
        assert first["QCB_POS"] == "1"  # at the queue's head: the citizen already waited their turn
        assert row.queue == "q-kunming"  # the call row counts for the platform queue, as the first did

        async with w.session() as s:
            got = await claim(s, ids["old"], utcnow())
            assert got is not None
            legacy = _variables(retry_action(got[0], settings))
            await s.commit()
        assert (legacy["QCB_QUEUE"], legacy["QCB_MAXPEN"]) == ("q-kunming", "")
