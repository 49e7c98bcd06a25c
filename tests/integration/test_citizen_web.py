"""Citizens on the web (SQLite and PostgreSQL): submit with a photo, get the number at once and by SMS
and e-mail; wrong-type, oversized, robot and flood submissions refused with a clear message and
nothing created; tracking needs number + phone and says the same for a wrong phone as for a wrong
number; a double submit is one case."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.cases.models import Case
from app.intake.models import IntakeAttachment
from app.outbox.models import OutboxMessage
from tests.conftest import make_settings, running_app
from tests.integration.test_cases_helpers import write_rules

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
FORM = {"type": "complaint", "text": "小区门口的路灯坏了一个多星期，晚上很黑。", "place": "昆明市五华区翠湖南路",
        "phone": "139 8711 2345", "email": "citizen@example.test", "submission_id": "s-1"}  # fmt: skip


async def _cases(app) -> list[Case]:
    async with app.state.runtime.db.sessionmaker() as s:
        return list(await s.scalars(select(Case).order_by(Case.id)))


async def test_submit_with_photo_and_track(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        r = await client.post(
            "/api/citizen/requests", data=FORM, files={"file": ("灯.png", PNG, "image/png")}
        )
        assert r.status_code == 201, r.text
        number = r.json()["number"]
        (c,) = await _cases(app)
        assert (c.number, c.channel, c.platform, c.citizen_phone) == (number, "web", "kunming", "13987112345")
        async with app.state.runtime.db.sessionmaker() as s:
            att = await s.scalar(select(IntakeAttachment))
            msgs = {m.channel: m for m in await s.scalars(select(OutboxMessage))}
        assert att.case_id == c.id and att.content_type == "image/png" and Path(att.path).read_bytes() == PNG  # noqa: ASYNC240
        assert number in msgs["sms"].body and msgs["sms"].recipient == "13987112345"
        assert number in msgs["email"].subject and msgs["email"].recipient == "citizen@example.test"

        # the browser sent it twice (double click, retry): one case
        r2 = await client.post("/api/citizen/requests", data=FORM)
        assert r2.status_code == 201 and r2.json()["number"] == number and len(await _cases(app)) == 1

        t = await client.post("/api/citizen/track", json={"number": number, "phone": "13987112345"})
        assert t.status_code == 200 and t.json()["status_label"] == "已受理" and t.json()["answer"] is None
        wrong_phone = await client.post("/api/citizen/track", json={"number": number, "phone": "13987100000"})
        wrong_number = await client.post(
            "/api/citizen/track", json={"number": "KM-1", "phone": "13987112345"}
        )
        assert wrong_phone.status_code == wrong_number.status_code == 404
        assert wrong_phone.json() == wrong_number.json() == {"detail": "工单号或手机号不正确"}
        early = await client.post(
            "/api/citizen/rate", json={"number": number, "phone": "13987112345", "rating": 1}
        )
        assert early.status_code == 409 and "不能评价" in early.json()["detail"]


async def test_bad_submissions_refused_and_nothing_created(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        html = b"<html><script>alert(1)</script></html>"
        bad = [
            ({**FORM, "submission_id": "a"}, {"file": ("x.png", html, "image/png")}, "照片（JPG、PNG）或 PDF"),
            ({**FORM, "submission_id": "b"}, {"file": ("x.png", PNG + b"\x00" * (5 * 1024 * 1024), "image/png")}, "不能超过 5 MB"),
            ({**FORM, "submission_id": "c", "phone": "12345"}, None, "正确的手机号码"),
            ({**FORM, "submission_id": "d", "website": "http://spam.example"}, None, "刷新页面"),
            ({**FORM, "submission_id": "e", "email": "not-an-address"}, None, "邮箱格式"),
        ]  # fmt: skip
        for data, files, message in bad:
            r = await client.post("/api/citizen/requests", data=data, files=files)
            assert r.status_code == 422 and message in r.json()["detail"], (data, r.text)
        assert await _cases(app) == []


async def test_flood_is_refused_per_address(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir)
    async with running_app(settings) as (app, client):
        codes = []
        for i in range(7):
            r = await client.post(
                "/api/citizen/requests",
                data={**FORM, "submission_id": f"f{i}", "text": f"第{i}件事：{'噪音' * (i + 3)}扰民"},
            )
            codes.append(r.status_code)
        assert codes == [201] * 5 + [429, 429]
        assert "操作过于频繁" in r.json()["detail"] and int(r.headers["Retry-After"]) > 0
