"""The survey's DTMF grammar: valid digits → rating, one re-prompt on an invalid digit."""

from __future__ import annotations

from ivr.survey import INVALID, NO_DIGIT, RATED, SCRIPT, digit_of, next_step, run


def test_each_valid_digit_is_a_rating():
    for digit, rating in (("1", 1), ("2", 2), ("3", 3)):
        step, played = run(SCRIPT, [digit])
        assert (step.kind, step.rating, step.outcome) == ("rate", rating, RATED)
        assert played == ["survey-intro"]


def test_invalid_digit_is_reprompted_once_then_a_valid_digit_counts():
    step, played = run(SCRIPT, ["9", "2"])
    assert step.rating == 2
    assert played == ["survey-intro", "survey-invalid"]


def test_two_invalid_digits_end_the_call_as_invalid():
    step, played = run(SCRIPT, ["9", "0"])
    assert (step.kind, step.outcome) == ("end", INVALID)
    assert len(played) == 2


def test_silence_or_hangup_is_no_digit():
    assert run(SCRIPT, [""])[0].outcome == NO_DIGIT
    assert next_step(SCRIPT, None, 1).outcome == NO_DIGIT


def test_get_data_results():
    assert digit_of({"status_code": 200, "result": ("1", ""), "msg": ""}) == "1"
    assert digit_of({"status_code": 200, "result": ("", ""), "msg": ""}) == ""
    assert digit_of({"status_code": 200, "result": ("3", "timeout"), "msg": ""}) == "3"
    assert digit_of({"error": "AGIAppError", "msg": "hangup"}) is None
    assert SCRIPT.get_data("/s/sounds/", "survey-intro") == "GET DATA /s/sounds/survey-intro 8000 1"
