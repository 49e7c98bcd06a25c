"""The shortcuts that make common reads cheaper give the same results as the long way
(docs/adr/2026-12-02-request-cost.md): log redaction's word check, and reading an ORM row's loaded attributes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.cases.models import Case, CaseEvent
from app.cases.schemas import CaseOut, EventOut
from app.db import validate_row
from app.observability.logging import _SECRETS, redact


def _slow_redact(text: str) -> str:
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


@pytest.mark.parametrize(
    "line",
    [
        "GET /api/cases/KM-20261203-0101 200 1.3ms",
        "GET /api/cases 200 0.9ms req=3f2a9c1e8b7d",
        "Authorization: Bearer abc.def-ghi",
        "login with password=hunter2&x=1",
        "PassWord=hunter2",
        "ami_secret=s3cr3t",
        "cookie hotline_session=abc123; other=1",
        '{"access_token": "eyJabc", "ok": true}',
        "{'password': 'pw'}",
        "ſecret=abc",  # re's case-insensitive match treats ſ as s: still redacted
        "市民来电 token=abc",
        "passwd=1 and TOKEN=2",
    ],
)
def test_redact_gives_what_the_patterns_give(line: str) -> None:
    assert redact(line) == _slow_redact(line)


def test_redact_masks_secrets_and_leaves_plain_lines_alone() -> None:
    assert redact("GET /api/auth/me 200 0.4ms") == "GET /api/auth/me 200 0.4ms"
    assert "hunter2" not in redact("PassWord=hunter2")
    assert "abc" not in redact("ſecret=abc")


def _case(**over: object) -> Case:
    now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    fields: dict[str, object] = dict(
        id=7, number="KM-20261202-0001", platform="kunming", prefecture=None, channel="phone",
        type="complaint", category_code="0101", summary="小区停水", detail="三天", citizen_name="张三",
        citizen_phone="13900000001", confidential=False, call_uniqueid=None, source_hotline=None,
        lead_unit="km-water", status="dispatched", dispatch_due=None, sign_due=now, return_due=None,
        handle_due=now, due_at=now, overdue_at=None, calendar_warning=None, extension_count=0, answer=None,
        rating=None, published=False, transfer_to=None, merged_into=None, created_by=1, created_at=now,
        updated_at=now,
    )  # fmt: skip
    fields.update(over)
    return Case(**fields)


def test_validate_row_equals_model_validate_for_a_loaded_row() -> None:
    case = _case()
    assert validate_row(CaseOut, case) == CaseOut.model_validate(case)
    ev = CaseEvent(
        id=1, case_id=7, at=datetime(2026, 12, 2, tzinfo=UTC), actor_id=1, actor_name="李四",
        actor_role="agent", action="dispatch", from_status="intake", to_status="dispatched", note="请核查",
        data={"unit": "km-water"},
    )  # fmt: skip
    assert validate_row(EventOut, ev) == EventOut.model_validate(ev)


def test_validate_row_reads_attributes_when_one_is_not_loaded() -> None:
    case = _case()
    del case.__dict__["summary"]  # as if expired: not in the loaded state
    with pytest.raises(Exception) as slow:
        CaseOut.model_validate(case)
    with pytest.raises(type(slow.value)):
        validate_row(CaseOut, case)
    case.summary = "小区停水"
    assert validate_row(CaseOut, case).summary == "小区停水"
