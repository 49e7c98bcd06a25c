"""E-mail intake (SQLite and PostgreSQL): a citizen's mail becomes a case; a reply to our
acknowledgement (its subject names the case) joins that case; the same subject from a stranger does
not; the same message read twice counts once."""

from __future__ import annotations

import base64

from sqlalchemy import select

from app.cases.context import of_runtime
from app.cases.models import Case
from app.intake.service import receive
from app.mail.parse import parse
from app.mail.service import inbound_of
from tests.conftest import make_settings, running_app
from tests.integration.test_cases_helpers import write_rules


def _mail(sender: str, subject: str, text: str, mid: str) -> bytes:
    b64 = lambda s: base64.b64encode(s.encode("gb18030")).decode()  # noqa: E731
    return (
        f"From: {sender}\r\nSubject: =?GB18030?B?{b64(subject)}?=\r\nMessage-ID: <{mid}@example.test>\r\n"
        f"Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64(text)}\r\n"
    ).encode("ascii")


async def _take(app, raw: bytes):
    async with app.state.runtime.db.sessionmaker() as s:
        got = await receive(s, inbound_of(parse(raw), raw), ctx=of_runtime(app.state.runtime))
        await s.commit()
        return got.case.number, got.created, got.repeated


async def test_mail_becomes_case_and_reply_joins_it(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, _client):
        first = _mail("li@example.test", "大理市下关镇自来水浑浊", "这几天自来水发黄，烧开后有沉淀。", "m1")
        number, created, _ = await _take(app, first)
        assert created
        assert (await _take(app, first))[2] is True  # read twice: counted once
        reply = _mail(
            "li@example.test", f"回复：【12345】您的诉求已受理，工单号 {number}", "补充：今天水更黄了。", "m2"
        )
        assert await _take(app, reply) == (number, False, False)
        stranger = _mail("other@example.test", f"回复：工单号 {number}", "我想查看这个工单。", "m3")
        n3, created3, _ = await _take(app, stranger)
        assert created3 and n3 != number
        async with app.state.runtime.db.sessionmaker() as s:
            case = await s.scalar(select(Case).where(Case.number == number))
        assert case.channel == "email" and case.platform == "dali" and "今天水更黄了" in case.detail
