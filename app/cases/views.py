"""How a case is shown to each role: its fields, labels, traffic light, the actions the workflow
offers this user, masked as due — validated as CaseOut (one case) or written as CaseOut's fields
(a page of the list)."""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any

from app.auth.models import Role, User
from app.cases import workflow as wf
from app.cases.context import CaseContext
from app.cases.deadlines import light
from app.cases.masking import mask_name, mask_phone
from app.cases.queries import DUE_STATES, CaseLike, side_of
from app.cases.schemas import CaseOut
from app.db import row_values


def _relation(user: User | None, case: CaseLike, co_units: list[str]) -> str | None:
    """A unit user's relation to the case (the table's unit guards); None for everyone else."""
    if user is None or user.role is not Role.unit:
        return None
    if user.unit_code is not None and user.unit_code == case.lead_unit:
        return wf.LEAD
    return wf.CO if user.unit_code in co_units else wf.OTHER


def shown(
    case: CaseLike,
    user: User | None,
    ctx: CaseContext,
    now: datetime,
    co_units: list[str],
    threshold: datetime | None = None,
) -> dict[str, Any]:
    """How ``user`` sees the case, as CaseOut's values (not yet validated): its fields and what the
    pages add — labels, traffic light, the actions the workflow allows this user — masked as due."""
    values = row_values(CaseOut, case)
    values["co_units"] = co_units
    values["status_label"] = wf.LABELS.get(case.status, case.status)
    values["category_name"] = ctx.rules.category_names().get(case.category_code or "")
    if case.status not in DUE_STATES:
        values["light"] = ""
    elif threshold is not None:  # a list: the near-due threshold was worked out once for the page
        values["light"] = light(case.due_at, now, threshold)
    else:
        values["light"] = ctx.clock().light(case.due_at, now)
    role = user.role.value if user is not None else wf.SYSTEM
    values["allowed_actions"] = (
        []
        if ctx.held_remotely(case.status, case.platform, case.transfer_to)
        else wf.allowed_actions(case.status, role, _relation(user, case, co_units), side_of(user, case))
    )
    # full phone/name only for the hotline staff of the platform, and for units unless 保密
    staff = user is not None and user.role in (Role.agent, Role.supervisor, Role.admin)
    if not staff and (user is None or case.confidential):
        values["citizen_phone"] = mask_phone(case.citizen_phone)
        values["citizen_name"] = mask_name(case.citizen_name)
    return values


def to_out(
    case: CaseLike,
    user: User | None,
    ctx: CaseContext,
    now: datetime,
    co_units: list[str],
    threshold: datetime | None = None,
    cls: type[CaseOut] = CaseOut,
) -> CaseOut:
    """:func:`shown`, validated once as ``cls``."""
    return cls.model_validate(shown(case, user, ctx, now, co_units, threshold))


# CaseOut's fields in order: a page of cases goes out as plain dicts of these keys
_OUT_KEYS = tuple(CaseOut.model_fields)
_out_values = itemgetter(*_OUT_KEYS)


def out_fields(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`shown`'s values cut to CaseOut's fields in its order — what ``CaseOut.model_dump`` of the
    validated model gives for a row read from the database, whose columns already have the fields'
    types (tests/integration/test_case_list_json.py holds the two equal), without validating
    every row of a page a second time. :func:`shown` sets every field that is not a column."""
    return dict(zip(_OUT_KEYS, _out_values(values), strict=True))
