from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.bounds import Code, PlatformCode

Channel = Literal["phone", "voicemail", "web", "sms", "email", "wechat", "weibo", "app", "open311"]
CaseType = Literal["consultation", "help", "suggestion", "complaint", "report", "praise"]


class CaseCreate(BaseModel):
    channel: Channel = "phone"
    type: CaseType = "consultation"
    category_code: str | None = Field(default=None, min_length=1, max_length=16)
    summary: str = Field(min_length=1, max_length=255)
    detail: str = Field(default="", max_length=20000)
    citizen_name: str | None = Field(default=None, max_length=64)
    citizen_phone: str | None = Field(default=None, max_length=32)
    confidential: bool = False
    platform: PlatformCode | None = None  # default: the creating user's platform
    prefecture: PlatformCode | None = None
    call_uniqueid: Code | None = None


class TransitionIn(BaseModel):
    action: str = Field(
        max_length=32,
        description="answer, dispatch, sign, return, progress, request_extension, "
        "approve_extension, refuse_extension, reply, reject_reply, feedback, rate, reopen, "
        "close, publish, remind, transfer, hand_over, accept_handover, refuse_handover, recall_handover"
    )
    note: str | None = Field(default=None, max_length=20000)
    unit_code: Code | None = Field(default=None, description="dispatch: the lead unit")
    co_units: list[Code] = Field(default_factory=list, max_length=50, description="dispatch: co-handling units")
    target_platform: PlatformCode | None = Field(
        default=None, description="transfer, hand_over: the receiving platform code (e.g. the provincial platform's)"
    )
    rating: int | None = Field(default=None, ge=1, le=3)


class RatingIn(BaseModel):
    rating: int = Field(ge=1, le=3, description="1 满意, 2 基本满意, 3 不满意")
    note: str | None = Field(default=None, max_length=20000)


class MergeIn(BaseModel):
    into: str = Field(min_length=1, max_length=32, description="number of the case this duplicate is merged into")


class RemindIn(BaseModel):
    note: str | None = Field(default=None, max_length=20000)


class EventOut(BaseModel):
    at: datetime
    actor_name: str
    actor_role: str
    action: str
    action_label: str = ""
    from_status: str
    to_status: str
    note: str | None
    data: dict[str, Any] | None

    model_config = {"from_attributes": True}


class CaseOut(BaseModel):
    number: str
    platform: str
    prefecture: str | None
    channel: str
    type: str
    category_code: str | None
    category_name: str | None = None
    summary: str
    detail: str
    citizen_name: str | None
    citizen_phone: str | None
    confidential: bool
    call_uniqueid: str | None
    source_hotline: str | None = None
    lead_unit: str | None
    co_units: list[str] = []
    status: str
    status_label: str = ""
    dispatch_due: datetime | None
    sign_due: datetime | None
    return_due: datetime | None
    handle_due: datetime | None
    due_at: datetime | None
    overdue_at: datetime | None
    light: str = ""
    calendar_warning: str | None
    extension_count: int
    answer: str | None
    rating: int | None
    published: bool
    transfer_to: str | None
    merged_into: str | None
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str] = []

    model_config = {"from_attributes": True}


class DuplicateOut(BaseModel):
    number: str
    status: str
    summary: str
    created_at: datetime


class CaseCreated(BaseModel):
    case: CaseOut
    possible_duplicates: list[DuplicateOut]


class CaseDetail(CaseOut):
    events: list[EventOut] = []


class CaseList(BaseModel):
    items: list[CaseOut]
    total: int


class BoardOut(BaseModel):
    now: datetime
    near_threshold: datetime
    red: list[CaseOut]
    yellow: list[CaseOut]
    extension_requests: list[CaseOut]
    warnings: list[str]
