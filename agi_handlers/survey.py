"""AGI route `survey`: the satisfaction call-back (回访) once the citizen answered.

Arguments: survey id, the prompts directory (dialplan global HOTLINE_PROMPTS), the call's linkedid
(= the ChannelId the scheduler originated with, which names the attempt row). Plays the intro, reads
one digit, re-prompts once on an invalid digit (ivr.survey), then reports the outcome through the
SurveyCalls port (in the service: the survey scheduler — rating on the case; otherwise the retry
schedule). A hang-up mid-prompt is
recorded as "no digit"."""

from __future__ import annotations

import logging

from agi_handlers import channel_vars as cv
from agi_handlers.ports import AgiPorts
from agi_handlers.server import AgiHangup, AgiRequest
from ivr.survey import INVALID, NO_DIGIT, RATED, SCRIPT, digit_of, next_step

log = logging.getLogger(__name__)
TIMEOUT_S = 90.0  # intro (~22 s) + 8 s + re-prompt (~10 s) + 8 s + thanks (~4 s), with margin


async def handle(request: AgiRequest, ports: AgiPorts) -> None:
    env = request.env
    prompt_dir = env.get("agi_arg_2", "")
    cid = env.get("agi_arg_3", "")
    surveys = ports.surveys
    if not surveys.is_attempt(cid):
        log.error("survey call %s: not a survey attempt (or the scheduler is not running)", cid)
        return
    await surveys.answered(cid)
    pressed: list[str] = []
    prompt = SCRIPT.intro
    outcome, rating, detail = NO_DIGIT, None, "未按键"
    played = 0
    try:
        while True:
            played += 1
            digit = digit_of(await request.cmd(SCRIPT.get_data(prompt_dir, prompt)))
            if digit is None:
                raise AgiHangup("hung up during the prompt")
            if digit:
                pressed.append(digit)
            step = next_step(SCRIPT, digit, played)
            if step.kind == "reprompt" and step.prompt:
                prompt = step.prompt
                continue
            outcome = step.outcome or NO_DIGIT
            rating = step.rating
            detail = {RATED: "已评价", INVALID: "按键无效"}.get(outcome, "未按键")
            break
        if rating is not None:
            await request.set_var(cv.SURVEY_RESULT, rating)
            await request.cmd(f'STREAM FILE {prompt_dir.rstrip("/")}/{SCRIPT.thanks} ""')
    except AgiHangup:
        if rating is None:
            outcome, detail = NO_DIGIT, "市民在提示音中挂机"
    finally:
        try:  # hang up first: the outbound slot is free only when the call really is gone
            await request.cmd("HANGUP")
        except Exception:  # noqa: BLE001 - already gone
            pass
        # reported when the call is over (after the thanks), so the outbound slot is counted until then
        await surveys.finish(
            cid, RATED if rating is not None else outcome, rating=rating, digits="".join(pressed) or None,
            detail=detail,
        )  # fmt: skip
