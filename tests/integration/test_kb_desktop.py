"""Agent assist in headless Chromium: while a call rings, while the agent types and while the live
transcript arrives, the desktop suggests knowledge-base articles; the agent answers the consultation
directly from a suggested article, and the wallboard's statistics count it.

The call is fed through the real AMI consumer (no Asterisk here); the transcript is published as
app.agents.live publishes it (the recogniser itself is tested in tests/system/test_live_transcript.py)."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.cases.models import Case, CaseEvent
from app.events import Event
from app.kb.schemas import ArticleIn
from app.kb.service import context_of, create
from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import add_user, make_settings
from tests.integration.test_agents_desktop import feed, member_event, seed_call
from tests.integration.test_cases_helpers import write_rules

ARTICLES = [
    (
        "住房公积金提取办理指南",
        "0105",
        None,
        "职工购房、退休可以提取住房公积金，携带身份证到公积金管理中心办理，三个工作日到账。",
    ),
    ("社保卡丢失怎么挂失和补办", "0402", None, "社保卡丢失后先电话挂失，再携带身份证到社保卡服务网点补办。"),
    ("大理市居住证办理", "0601", "dali", "在大理居住半年以上可申领居住证，到居住地派出所办理。"),
]

CALL = {"Queue": "q-dali", "Uniqueid": "call-9", "Linkedid": "call-9", "CallerIDNum": "13987212345"}
AGENT = {"Interface": "PJSIP/agent-1001", "MemberName": "li.agent"}


async def _seed(app) -> None:
    await add_user(
        app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001", display_name="李坐席"
    )
    await add_user(app, "prov.sup", "supervisor", platform="province")
    rt = app.state.runtime
    async with rt.db.sessionmaker() as s:
        sup = await s.scalar(select(User).where(User.username == "prov.sup"))
        for title, cat, platform, body in ARTICLES:
            data = ArticleIn(
                title=title, body=body, category_code=cat, scope=platform or "province", status="published"
            )
            await create(s, data, sup, context_of(rt))
        await s.commit()


async def _titles(page) -> list[str]:
    return await page.locator("#sugs .sug h3").all_text_contents()


async def test_agent_answers_a_consultation_directly_from_a_suggested_article(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base):
        await _seed(app)
        async with chromium() as browser:
            page = await login_page(browser, base, "li.agent")
            await page.wait_for_url("**/ui/agent")
            await page.wait_for_function(
                "() => document.getElementById('conn').textContent.includes('已连接')"
            )
            await feed(app, member_event("li.agent", "PJSIP/agent-1001"))
            await seed_call(app, "call-9", "13987212345")
            await feed(
                app,
                {"Event": "QueueCallerJoin", **CALL, "Position": "1"},
                {"Event": "AgentCalled", **CALL, **AGENT, "DestUniqueid": "agent-leg-9"},
            )
            # ringing: no words yet; the call's platform (大理) gives its own article first
            await page.wait_for_function("() => document.getElementById('popstate').textContent === '振铃中'")
            await page.wait_for_function("() => document.querySelectorAll('#sugs .sug').length > 0")
            assert (await _titles(page))[0] == "大理市居住证办理"
            await feed(app, {"Event": "AgentConnect", **CALL, **AGENT, "HoldTime": "3", "RingTime": "2"})
            await page.wait_for_function(
                "() => document.getElementById('bound').textContent.includes('call-9')"
            )
            # the agent types: the suggestions follow the text
            await page.fill("#f_summary", "市民社保卡丢了")
            await page.wait_for_function(
                "() => (document.querySelector('#sugs .sug h3') || {}).textContent === '社保卡丢失怎么挂失和补办'"
            )
            await page.fill("#f_summary", "")
            # the live transcript arrives (as app.agents.live publishes it): suggestions follow the caller
            await app.state.runtime.hub.publish(
                Event(
                    "agent.transcript",
                    {"uniqueid": "call-9", "interface": "PJSIP/agent-1001", "member": "li.agent",
                     "status": "listening", "label": "转写中", "text": "喂你好我想问一下公积金怎么提取",
                     "partial": "", "reason": None, "audio_s": 4.0},
                )
            )  # fmt: skip
            await page.wait_for_function(
                "() => (document.querySelector('#sugs .sug h3') || {}).textContent === '住房公积金提取办理指南'"
            )
            assert "公积金" in (await page.text_content("#sugterms") or "")
            first = page.locator("#sugs .sug").first
            await first.locator("button.view").click()
            await first.locator(".body").wait_for()
            assert "三个工作日到账" in (await first.locator(".body").text_content() or "")
            await page.screenshot(path=str(screenshot_path("kb-agent-suggestions")), full_page=True)
            await first.locator("button.answer").click()
            await page.wait_for_function(
                "() => document.getElementById('saved').textContent.includes('已直接答复')"
            )
            saved = await page.text_content("#saved") or ""
            assert "已办结" in saved and "住房公积金提取办理指南" in saved
        async with app.state.runtime.db.sessionmaker() as s:
            case = await s.scalar(select(Case))
            assert case is not None and case.number in saved
            assert (case.status, case.call_uniqueid, case.citizen_phone) == (
                "answered_directly",
                "call-9",
                "13987212345",
            )
            assert "提取住房公积金" in (case.answer or "")
            ev = await s.scalar(select(CaseEvent).where(CaseEvent.action == "answer_kb"))
            assert ev is not None and ev.data["article"]["title"] == "住房公积金提取办理指南"
        # the statistics count it as a direct answer from the knowledge base
        import httpx

        async with httpx.AsyncClient(base_url=base) as c:
            r = await c.post("/api/auth/login", json={"username": "prov.sup", "password": "correct-horse-42"})
            k = (
                await c.get("/api/stats/kpis", headers={"Authorization": f"Bearer {r.json()['token']}"})
            ).json()
        assert k["cases"] == {"created": 1, "answered_directly": 1, "answered_from_kb": 1, "direct_rate": 1.0}


async def test_voicemail_transcript_suggests_articles_and_answers_the_message(tmp_path, sqlite_url):
    from app.voicemail import service as voicemail
    from tests.integration.test_recordings_queue import case_of, silence_wav, store

    settings = make_settings(tmp_path, sqlite_url, stt_engine="none")
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base):
        await _seed(app)
        rec_id, number = await store(app, silence_wav(voicemail.recording_path(app.state.runtime.settings, "kb")))

        # no speech engine here: the job waits, and nothing but the agent touches the case meanwhile
        assert (await case_of(app, rec_id))[2].status == "pending"
        async with chromium() as browser:
            page = await login_page(browser, base, "li.agent")
            await page.goto(f"{base}/ui/voicemail")
            row = page.locator(f".vm[data-id='{rec_id}']")
            await row.wait_for()
            # the agent writes down what the message says (as a correction would), then asks the knowledge base
            await row.locator("textarea.tx").fill("你好，我想问一下社保卡丢了怎么补办，谢谢")
            await row.locator("button.kb").click()
            await row.locator(".sugs .sug").first.wait_for()
            assert (await row.locator(".sugs .sug a").first.text_content()) == "社保卡丢失怎么挂失和补办"
            await row.locator(".sugs .sug button.answer").first.click()
            await row.locator(".st:has-text('已直接答复')").wait_for()
        _, case, _ = await case_of(app, rec_id)
        assert (case.number, case.status, case.channel) == (number, "answered_directly", "voicemail")
        assert "社保卡" in (case.answer or "")
