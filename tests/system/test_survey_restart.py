"""The retry schedule is durable: the service stopped between two tries and started again calls the
citizen exactly the remaining number of times (counted by Asterisk's own Hangup events of
the originated channels)."""

from __future__ import annotations

import time

from sqlalchemy import select

from app.db import utcnow
from app.surveys import models as m
from app.surveys.models import Survey, SurveyAttempt
from app.surveys.scheduler import SURVEYS
from app.telephony.ami import AmiConnection
from tests.conftest import running_app
from tests.integration.test_cases_helpers import World, seed, write_rules
from tests.system.conftest import backend_settings, write_config
from tests.system.test_survey_calls import fed_back_case, survey_rules
from tests.waiting import wait_until


async def _state(app) -> tuple[Survey | None, list[SurveyAttempt]]:
    async with app.state.runtime.db.sessionmaker() as s:
        survey = await s.scalar(select(Survey))
        attempts = list(await s.scalars(select(SurveyAttempt).order_by(SurveyAttempt.n)))
    return survey, attempts


async def _until(app, pred, what: str, timeout: float = 60):
    async def state():
        return await _state(app)

    return await wait_until(
        state, timeout, what, check=lambda st: st[0] is not None and pred(*st), interval=0.1
    )


def _finished(a: SurveyAttempt) -> bool:
    """The attempt's outcome is known AND its channel is gone. Two AMI events write them (Hangup →
    ended_at; OriginateResponse → outcome), in either order: wait for both, never for one of them."""
    return a.ended_at is not None and a.outcome not in m.IN_FLIGHT


async def test_retry_schedule_survives_a_restart_nothing_twice_nothing_forgotten(
    tmp_path, db_url, asterisk
):
    originated: list[str] = []

    def count(_server: str, ev: dict[str, str]) -> None:
        uid = ev.get("Uniqueid", "")
        if ev.get("Event") == "Hangup" and uid.startswith("hl-out-svy-") and uid == ev.get("Linkedid"):
            originated.append(uid)

    watcher = AmiConnection(asterisk.server, on_event=count)
    await watcher.start()
    assert await watcher.wait_connected(5)
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=write_config(tmp_path))
    write_rules(settings.var_dir)
    survey_rules(settings.var_dir, {"13900000007": "SIM_MODE=busy"}, retry_interval_s=4)
    try:
        async with running_app(settings) as (app, client):
            w = World(app, client, await seed(app, client))
            await fed_back_case(w, "13900000007")
            survey, attempts = await _until(
                app, lambda s, a: len(a) == 1 and _finished(a[0]), "the first try's outcome and hang-up"
            )
            assert attempts[0].outcome == "busy" and survey.status == "scheduled"
            next_at = survey.next_at
        stopped = time.monotonic()
        # the second try falls due while the service is down
        await wait_until(
            lambda: utcnow() > next_at, 30, f"the second try to fall due ({next_at})", interval=0.2
        )
        await wait_until(lambda: len(originated) == 1, 10, "Asterisk's Hangup of the first call")
        settings2 = settings.model_copy(update={"session_secret": "restarted"})
        async with running_app(settings2) as (app2, _client2):
            survey, attempts = await _until(
                app2,
                lambda s, a: s.status == "handed_over" and len(a) == 3 and all(map(_finished, a)),
                "the survey handed over after three finished tries",
            )
            # every call Asterisk placed has hung up; then nothing more is due: a scheduler pass (the
            # same the loop runs) claims nothing, so no extra call can follow
            await wait_until(lambda: len(originated) >= 3, 20, "Asterisk's Hangup of the three calls")
            assert await app2.state.runtime.require(SURVEYS).tick() == 0
            survey, attempts = await _state(app2)
        assert survey is not None and survey.attempts == 3
        assert [a.n for a in attempts] == [1, 2, 3] and {a.outcome for a in attempts} == {"busy"}
        assert len({a.channel_id for a in attempts}) == 3
        assert attempts[1].started_at >= next_at  # not before its time, and not forgotten
        assert time.monotonic() - stopped < 30
        # Asterisk saw exactly one call per attempt row: nothing called twice, nothing forgotten
        assert sorted(originated) == sorted(a.channel_id for a in attempts)
    finally:
        await watcher.close()
