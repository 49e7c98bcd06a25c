"""The SurveyCalls port of the `survey` AGI route, implemented by the running survey scheduler (which
commits each report and publishes the case events it returns)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.surveys import models as m
from app.surveys.scheduler import SURVEYS

if TYPE_CHECKING:
    from app.runtime import Runtime


class SurveyCallsPort:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def is_attempt(self, channel_id: str) -> bool:
        return channel_id.startswith(m.SURVEY_PREFIX) and self.rt.get(SURVEYS) is not None

    async def answered(self, channel_id: str) -> None:
        await self.rt.require(SURVEYS).answered(channel_id)

    async def finish(
        self, channel_id: str, outcome: str, *, rating: int | None, digits: str | None, detail: str
    ) -> None:
        await self.rt.require(SURVEYS).finish(
            channel_id, outcome, rating=rating, digits=digits, detail=detail,
            ended=False,  # the slot stays taken until Asterisk's Hangup of the call
        )  # fmt: skip
