"""The administrator settles refused citizens' mail (SQLite and PostgreSQL): a mail refused because the
database kept failing is taken in after all — a case from the e-mail channel on its mailbox's platform,
and the citizen's receipt queued; a mail with no sender cannot be taken in and is dismissed with a
reason; a mail too large to keep cannot be taken in from here. Each is settled once, by an
administrator only. (The reader refusing mail from a real Dovecot mailbox, and the page:
tests/system/test_mail_admin_page.py.)"""

from __future__ import annotations

import base64

from sqlalchemy import select

from app.mail.parse import MAX_BYTES
from app.mail.reader import take_in
from app.outbox.models import OutboxMessage
from app.settings import MailboxSetting
from tests.integration.test_cases_helpers import world

BOX = MailboxSetting(platform="dali", host="127.0.0.1", port=9, tls="none", user="dali", password="x" * 12)


def _mail(sender: str, subject: str, text: str, mid: str) -> bytes:
    b64 = lambda s: base64.b64encode(s.encode("utf-8")).decode()  # noqa: E731
    head = f"From: {sender}\r\n" if sender else ""
    return (
        f"{head}Subject: =?UTF-8?B?{b64(subject)}?=\r\nMessage-ID: <{mid}@example.test>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64(text)}\r\n"
    ).encode("ascii")


async def test_refused_mail_is_taken_in_after_all_or_dismissed_with_a_reason(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        rt, c, root = w.runtime, w.client, w.h["root"]
        water = _mail("zhao@example.test", "下关镇自来水浑浊", "这几天自来水发黄，烧开后有沉淀。", "m1")
        await take_in(rt, BOX, water, failed="连续 5 次处理失败：OperationalError: database is locked")
        await take_in(rt, BOX, _mail("", "中奖通知", "点击领取。", "m2"))
        photos = _mail("qian@example.test", "违章停车照片", "见附件。", "m3")
        await take_in(rt, BOX, photos[:200], size=MAX_BYTES + 1)  # too large: only its header was read
        rows = (await c.get("/api/mail/refused", params={"status": "refused"}, headers=root)).json()
        by = {r["reason"].split("：")[0].split("，")[0]: r for r in rows}
        assert len(rows) == 3 and {r["status_label"] for r in rows} == {"待处理"}
        failed, nobody, big = by["连续 5 次处理失败"], by["没有发件人地址"], by[f"邮件 {MAX_BYTES + 1} 字节"]

        # only administrators settle refused mail
        for path in (f"/api/mail/refused/{failed['id']}/retake", f"/api/mail/refused/{nobody['id']}/dismiss"):
            r = await c.post(path, json={"note": "看看"}, headers=w.h["km.agent"])
            assert r.status_code == 403, r.text

        # the mail the database refused: a case after all, and the citizen's receipt with its number
        r = await c.post(f"/api/mail/refused/{failed['id']}/retake", json={"note": "数据库故障已排除"}, headers=root)
        assert r.status_code == 200, r.text
        taken = r.json()
        assert (taken["status"], taken["status_label"], taken["note"]) == ("taken", "已受理", "数据库故障已排除")
        number = taken["case_number"]
        case = await w.get("root", number)
        assert case["channel"] == "email" and case["platform"] == "dali" and "自来水发黄" in case["detail"]
        async with w.session() as s:
            receipt = await s.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "zhao@example.test"))
        assert receipt is not None and number in (receipt.subject or "")
        r = await c.post(f"/api/mail/refused/{failed['id']}/retake", json={}, headers=root)
        assert r.status_code == 409 and "已处理" in r.json()["detail"] and number in r.json()["detail"]

        # no sender: still refused, said why; then not taken in, with the reason kept
        r = await c.post(f"/api/mail/refused/{nobody['id']}/retake", json={}, headers=root)
        assert r.status_code == 422 and "仍无法受理：没有发件人地址" in r.json()["detail"]
        r = await c.post(f"/api/mail/refused/{nobody['id']}/dismiss", json={"note": ""}, headers=root)
        assert r.status_code == 422  # a dismissal says why
        r = await c.post(f"/api/mail/refused/{nobody['id']}/dismiss", json={"note": "无发件人，广告"}, headers=root)
        assert r.status_code == 200, r.text
        assert (r.json()["status_label"], r.json()["note"], r.json()["resolved_by"]) == ("不予受理", "无发件人，广告", "root")

        # too large: only its header was kept, so it is not taken in from here
        r = await c.post(f"/api/mail/refused/{big['id']}/retake", json={}, headers=root)
        assert r.status_code == 409 and "只保存了邮件头" in r.json()["detail"]
        left = (await c.get("/api/mail/refused", params={"status": "refused"}, headers=root)).json()
        assert [x["id"] for x in left] == [big["id"]]
