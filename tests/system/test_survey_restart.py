"""The retry schedule is durable: the service stopped between two tries and started again calls the
citizen exactly the remaining number of times (counted by Asterisk's own Hangup events of
the originated channels)."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from app.surveys.models import Survey, SurveyAttempt
from app.telephony.ami import AmiConnection
from tests.conftest import running_app
from tests.integration.test_cases_helpers import World, seed, write_rules
from tests.system.conftest import backend_settings, write_config
from tests.system.test_survey_calls import fed_back_case, survey_rules


async def _state(app) -> tuple[Survey | None, list[SurveyAttempt]]:
    async with app.state.runtime.db.sessionmaker() as s:
        survey = await s.scalar(select(Survey))
        attempts = list(await s.scalars(select(SurveyAttempt).order_by(SurveyAttempt.n)))
    return survey, attempts


async def _until(app, pred, timeout: float = 30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        survey, attempts = await _state(app)
        if survey is not None and pred(survey, attempts):
            return survey, attempts
        await asyncio.sleep(0.1)
    raise AssertionError(f"never reached: {await _state(app)}")


async def test_retry_schedule_survives_a_restart_nothing_twice_nothing_forgotten(
    tmp_path, sqlite_url, asterisk
):
    originated: list[str] = []

    def count(_server: str, ev: dict[str, str]) -> None:
        uid = ev.get("Uniqueid", "")
        if ev.get("Event") == "Hangup" and uid.startswith("hl-out-svy-") and uid == ev.get("Linkedid"):
            originated.append(uid)

    watcher = AmiConnection(asterisk.server, on_event=count)
    await watcher.start()
    assert await watcher.wait_connected(5)
    settings = backend_settings(tmp_path, sqlite_url, asterisk, platform_config=write_config(tmp_path))
    write_rules(settings.var_dir)
    survey_rules(settings.var_dir, {"13900000007": "SIM_MODE=busy"}, retry_interval_s=4)
    try:
        async with running_app(settings) as (app, client):
            w = World(app, client, await seed(app, client))
            await fed_back_case(w, "13900000007")
            survey, attempts = await _until(app, lambda s, a: len(a) == 1 and a[0].ended_at is not None)
            assert attempts[0].outcome == "busy" and survey.status == "scheduled"
            next_at = survey.next_at
        stopped = time.monotonic()
        await asyncio.sleep(5)  # the second try falls due while the service is down
        assert len(originated) == 1
        settings2 = settings.model_copy(update={"session_secret": "restarted"})
        async with running_app(settings2) as (app2, _client2):
            survey, attempts = await _until(app2, lambda s, a: s.status == "handed_over")
            await asyncio.sleep(1.5)  # anything extra would show up now
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
