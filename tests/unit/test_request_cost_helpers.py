"""The shortcuts that make common reads cheaper give the same results as the long way
(docs/adr/2026-12-02-request-cost.md): log redaction's word check, reading an ORM row's loaded attributes,
and showing a case read as a plain row (GET case, the list) as the ORM row is shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.auth.models import Role, User
from app.cases.context import current
from app.cases.models import Case, CaseEvent
from app.cases.schemas import CaseDetail, CaseOut, EventOut
from app.cases.views import to_out
from app.db import RowView, validate_row
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


def _row_view(case: Case) -> RowView:
    """The same case as GET case and the list read it: a plain row of the table's columns."""
    return RowView({c.key: getattr(case, c.key) for c in Case.__table__.c})


@pytest.mark.parametrize(
    ("role", "confidential"),
    [(Role.agent, False), (Role.unit, False), (Role.unit, True), (Role.supervisor, True)],
)
def test_a_case_read_as_a_plain_row_is_shown_as_the_orm_row_is(role: Role, confidential: bool) -> None:
    ctx = current()
    user = User(id=3, username="u", role=role, platform="kunming", unit_code="km-water", active=True)
    case = _case(confidential=confidential)
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    threshold = ctx.clock().near_threshold(now)
    for cls in (CaseOut, CaseDetail):
        orm = to_out(case, user, ctx, now, ["km-power"], cls=cls)
        plain = to_out(_row_view(case), user, ctx, now, ["km-power"], cls=cls)
        assert plain == orm
        assert to_out(_row_view(case), user, ctx, now, ["km-power"], threshold) == to_out(
            case, user, ctx, now, ["km-power"], threshold
        )
    shown = to_out(_row_view(case), user, ctx, now, [])
    masked = role is Role.unit and confidential
    assert (shown.citizen_phone == "13900000001") is not masked  # 保密: a unit sees the number masked
    assert shown.light == "yellow"  # due at 09:30, seen at 08:00 the same working day
    assert shown.status_label == "已派单"
    assert ("sign" in shown.allowed_actions) is (role is Role.unit)  # the lead unit signs for it


def test_a_plain_row_without_a_column_says_which() -> None:
    with pytest.raises(AttributeError, match="'summary'"):
        _ = RowView({"number": "KM-1"}).summary
