"""The exchange protocol, version 1 (docs/exchange/): the message envelope and request signing. Pure.

A request is ``POST /exchange/v1/messages`` with one JSON message as its body and these headers:
``X-Exchange-Key-Id`` (which shared key), ``X-Exchange-Timestamp`` (Unix seconds), ``X-Exchange-Nonce``
(unique per request), ``Idempotency-Key`` (the message id) and ``X-Exchange-Signature``: lowercase hex
HMAC-SHA256 over :func:`canonical` — timestamp, nonce, method, path and the body's SHA-256, one per line.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

VERSION = "hotline-exchange/1"
PATH = "/exchange/v1/messages"
BATCH_PATH = "/exchange/v1/batch"  # POST: several messages in one signed request, applied in their order
MAX_BATCH = 100
STATS_PATH = "/exchange/v1/stats"  # GET ?date=YYYY-MM-DD: signed over the path with its query, empty body
KNOWLEDGE_PATH = "/exchange/v1/knowledge"  # GET ?updated_since=…&after_id=…&limit=…: signed like STATS_PATH
H_KEY, H_TS, H_NONCE, H_SIG, H_IDEM = (
    "X-Exchange-Key-Id",
    "X-Exchange-Timestamp",
    "X-Exchange-Nonce",
    "X-Exchange-Signature",
    "Idempotency-Key",
)

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")


class Transition(BaseModel):
    """工单的一次状态变更（发送方业务系统中已生效的一步）。"""

    model_config = ConfigDict(extra="forbid")
    action: str = Field(
        min_length=1,
        max_length=32,
        description="动作代码，如 hand_over（移交）、accept_handover（接收移交）、dispatch（派单）、reply（办结答复）、rate（回访评价）",
    )
    from_status: str = Field(alias="from", max_length=24, description="变更前状态代码")
    to_status: str = Field(alias="to", max_length=24, description="变更后状态代码")
    note: str | None = Field(default=None, max_length=20000, description="说明：移交/退回理由、答复内容等")
    actor: str = Field(max_length=64, description="操作人（显示名）")
    actor_role: str = Field(
        max_length=16, description="操作人角色：agent 话务员、supervisor 班长、unit 承办单位、admin、system"
    )
    at: datetime = Field(description="发生时间（带时区的 ISO 8601）")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="附加数据，如移交的来源平台 from 与接收平台 to、承办单位 unit、评价 rating",
    )


class CaseSnapshot(BaseModel):
    """变更后的工单要素。接收方据此建立或更新工单镜像。"""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=32, description="工单号：全省唯一，移交后保持不变")
    platform: str = Field(max_length=32, description="当前办理平台代码（如 kunming、province）")
    transfer_to: str | None = Field(default=None, max_length=32, description="移交待接收时的接收平台代码")
    status: str = Field(max_length=24, description="当前状态代码")
    channel: str = Field(
        max_length=16,
        description="受理渠道：phone 电话、web 网站、sms 短信、email 邮件、wechat 微信、voicemail 留言",
    )
    type: str = Field(
        max_length=16,
        description="诉求类型：consultation 咨询、help 求助、suggestion 建议、complaint 投诉、report 举报、praise 表扬",
    )
    category_code: str | None = Field(default=None, max_length=16, description="诉求分类代码")
    summary: str = Field(max_length=255, description="诉求摘要")
    detail: str = Field(default="", max_length=20000, description="详细内容")
    citizen_name: str | None = Field(default=None, max_length=64, description="市民姓名（可空）")
    citizen_phone: str | None = Field(default=None, max_length=32, description="市民联系电话（可空）")
    confidential: bool = Field(default=False, description="市民要求保密")
    created_at: datetime = Field(description="受理时间")
    answer: str | None = Field(default=None, max_length=20000, description="答复/办结内容")
    rating: int | None = Field(default=None, ge=1, le=3, description="回访评价：1 满意、2 基本满意、3 不满意")
    dispatch_due: datetime | None = Field(default=None, description="派单期限")
    handle_due: datetime | None = Field(default=None, description="办理期限")
    sign_due: datetime | None = Field(default=None, description="签收期限（派单后）")
    return_due: datetime | None = Field(default=None, description="退回期限（签收后，逾期不能退回）")
    due_at: datetime | None = Field(default=None, description="当前环节期限")
    replied_at: datetime | None = Field(default=None, description="办结时间")
    closed_at: datetime | None = Field(default=None, description="结案时间")


class Message(BaseModel):
    """一条交换消息：某一工单的一次状态变更及变更后的工单要素。"""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    protocol: Literal["hotline-exchange/1"] = Field(description="协议版本，固定为 hotline-exchange/1")
    message_id: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="消息唯一标识（幂等键）：重发同一消息必须使用同一标识",
    )
    sender: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="发送方节点名")
    recipient: str = Field(
        min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="接收方节点名"
    )
    case_number: str = Field(min_length=1, max_length=32, description="工单号")
    seq: int = Field(
        ge=1,
        description="该发送方关于该工单的消息序号，从 1 起连续递增；接收方按序号逐条应用，缺号之后的消息暂存待应用",
    )
    sent_at: datetime = Field(description="消息生成时间")
    kind: Literal["transition"] = Field(description="消息类型：transition 工单状态变更")
    transition: Transition
    case: CaseSnapshot


class Batch(BaseModel):
    """一次请求中的多条消息（按数组顺序逐条应用，逐条应答）。"""

    model_config = ConfigDict(extra="forbid")
    protocol: Literal["hotline-exchange/1"] = Field(description="协议版本，固定为 hotline-exchange/1")
    messages: list[Message] = Field(min_length=1, max_length=MAX_BATCH, description="消息，1–100 条")


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical(timestamp: str, nonce: str, method: str, path: str, body: bytes) -> bytes:
    """What is signed: one field per line, no trailing newline."""
    return "\n".join([timestamp, nonce, method.upper(), path, body_hash(body)]).encode()


def sign(secret: str, timestamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    return hmac.new(
        secret.encode(), canonical(timestamp, nonce, method, path, body), hashlib.sha256
    ).hexdigest()


def verify(
    secret: str, signature: str, timestamp: str, nonce: str, method: str, path: str, body: bytes
) -> bool:
    return hmac.compare_digest(
        sign(secret, timestamp, nonce, method, path, body).encode("utf-8", "surrogatepass"),
        signature.lower().encode("utf-8", "surrogatepass"),
    )


def fresh(timestamp: str, now: float, max_skew_s: float) -> bool:
    """The timestamp is a whole number of seconds within ``max_skew_s`` of ``now``."""
    if not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now) <= max_skew_s


def message_schema() -> dict[str, Any]:
    """The JSON Schema published as docs/exchange/message.schema.json (a test keeps them equal)."""
    schema = Message.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "hotline-exchange/1/message.schema.json",
        **schema,
    }
