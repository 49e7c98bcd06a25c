"""The satisfaction call-back (回访) script and its DTMF grammar: data and parsing only (no I/O).

The AGI route plays ``prompts[0]`` and reads one digit; :func:`next_step` says what to do with what
the citizen pressed: store a rating, re-prompt (once, on an invalid digit), or give up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RATING_LABELS = {1: "满意", 2: "基本满意", 3: "不满意"}

# outcomes of one survey call, as the AGI route reports them
RATED = "rated"
NO_DIGIT = "no_digit"  # silence, or hung up during the prompt
INVALID = "invalid"  # invalid digits on every prompt


@dataclass(frozen=True)
class SurveyScript:
    intro: str = "survey-intro"
    invalid: str = "survey-invalid"
    thanks: str = "survey-thanks"
    digits: dict[str, int] = field(default_factory=lambda: {"1": 1, "2": 2, "3": 3})
    timeout_ms: int = 8000  # after the prompt ends
    reprompts: int = 1  # re-prompt this many times after an invalid digit

    def get_data(self, prompt_dir: str, prompt: str) -> str:
        """The AGI command reading one digit (also pressed during the prompt)."""
        return f"GET DATA {prompt_dir.rstrip('/')}/{prompt} {self.timeout_ms} 1"


SCRIPT = SurveyScript()


@dataclass(frozen=True)
class Step:
    kind: str  # "rate" | "reprompt" | "end"
    rating: int | None = None
    prompt: str | None = None  # next prompt to play (reprompt)
    outcome: str | None = None  # when kind == "end" or "rate": RATED / NO_DIGIT / INVALID


def digit_of(result: dict[str, Any]) -> str | None:
    """The digit pressed, from a parsed GET DATA result; "" on timeout; None when the call is gone."""
    if result.get("error"):
        return None
    r = result.get("result")
    if not isinstance(r, tuple | list) or not r:
        return ""
    value = str(r[0]).strip()
    if value.startswith("-"):
        return None
    return value[:1]


def next_step(script: SurveyScript, digit: str | None, prompts_played: int) -> Step:
    """What to do after prompt number ``prompts_played`` (1 = the intro) answered ``digit``."""
    if digit is None or digit == "":
        return Step("end", outcome=NO_DIGIT)
    rating = script.digits.get(digit)
    if rating is not None:
        return Step("rate", rating=rating, outcome=RATED)
    if prompts_played <= script.reprompts:
        return Step("reprompt", prompt=script.invalid)
    return Step("end", outcome=INVALID)


def run(script: SurveyScript, inputs: list[str | None]) -> tuple[Step, list[str]]:
    """Replays a whole survey over the digits pressed at each prompt; returns the final step and the
    prompts played (the pure model of what the AGI route does, for tests)."""
    played = [script.intro]
    for digit in inputs:
        step = next_step(script, digit, len(played))
        if step.kind != "reprompt":
            return step, played
        played.append(step.prompt or script.invalid)
    return Step("end", outcome=NO_DIGIT), played
