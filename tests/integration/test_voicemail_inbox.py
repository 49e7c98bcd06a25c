"""The voicemail inbox: who may list and hear recordings, audited corrections, and the page in headless
Chromium (the audio element loads and plays the recording URL)."""

from __future__ import annotations

from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import add_user, login, make_settings, running_app
from tests.integration.test_recordings_queue import (
    ZH_DEV,
    clip_copy,
    needs_model,
    silence_wav,
    store,
    whisper_settings,
)
from tests.waiting import wait_until


def _message(app, name: str):
    from app.voicemail import service

    path = service.recording_path(app.state.runtime.settings, name)
    return clip_copy(path) if ZH_DEV else silence_wav(path)


async def test_recordings_are_for_staff_of_their_platform_only(tmp_path, db_url):
    async with running_app(make_settings(tmp_path, db_url, stt_engine="none")) as (app, client):
        rec_id, number = await store(app, _message(app, "roles"))
        await add_user(app, "dali-agent", "agent", platform="dali")
        await add_user(app, "km-agent", "agent", platform="kunming")
        await add_user(app, "prov-sup", "supervisor", platform="province")
        await add_user(app, "unit-user", "unit", platform="dali")
        url = f"/api/recordings/{rec_id}/audio"
        for who in ("dali-agent", "prov-sup"):
            h = await login(client, who)
            r = await client.get(url, headers=h)
            assert (r.status_code, r.headers["content-type"]) == (200, "audio/wav"), who
            rows = (await client.get("/api/voicemail", headers=h)).json()
            assert [x["case"]["number"] for x in rows] == [number]
            assert rows[0]["status_label"] == "待转写" and rows[0]["audio_url"] == url
        km = await login(client, "km-agent")
        assert (await client.get(url, headers=km)).status_code == 404
        assert (await client.get("/api/voicemail", headers=km)).json() == []
        unit = await login(client, "unit-user")
        assert (await client.get(url, headers=unit)).status_code == 403
        assert (await client.get("/api/voicemail", headers=unit)).status_code == 403
        client.cookies.clear()
        assert (await client.get(url)).status_code == 401


async def test_correction_is_saved_with_audit_and_reaches_the_case(tmp_path, db_url):
    async with running_app(make_settings(tmp_path, db_url, stt_engine="none")) as (app, client):
        rec_id, number = await store(app, _message(app, "fix"))
        await add_user(app, "dali-agent", "agent", platform="dali")
        await add_user(app, "km-agent", "agent", platform="kunming")
        h = await login(client, "dali-agent")
        text = "我家楼下路灯坏了三天，请尽快修理。地址是大理市下关镇建设路。"
        r = await client.put(f"/api/recordings/{rec_id}/transcript", json={"text": text}, headers=h)
        assert (
            r.status_code == 200 and r.json()["transcript"] == text and r.json()["edited_by"] == "dali-agent"
        )
        edits = (await client.get(f"/api/recordings/{rec_id}/edits", headers=h)).json()
        assert [(e["username"], e["old_text"], e["new_text"]) for e in edits] == [("dali-agent", None, text)]
        case = (await client.get(f"/api/cases/{number}", headers=h)).json()
        assert case["summary"] == "语音留言：我家楼下路灯坏了三天，请尽快修理。" and text in case["detail"]
        km = await login(client, "km-agent")
        r = await client.put(f"/api/recordings/{rec_id}/transcript", json={"text": "x"}, headers=km)
        assert r.status_code == 404


@needs_model
async def test_inbox_page_plays_the_recording_in_chromium(tmp_path, sqlite_url):
    async with live_server(whisper_settings(tmp_path, sqlite_url)) as (app, base):
        rec_id, number = await store(app, _message(app, "page"))
        await add_user(app, "dali-agent", "agent", platform="dali", display_name="大理坐席")
        await add_user(app, "km-agent", "agent", platform="kunming")
        await add_user(app, "unit-user", "unit", platform="dali")
        from tests.integration.test_recordings_queue import case_of

        async def status() -> str:
            return str((await case_of(app, rec_id))[0].transcript_status)

        # the in-process worker transcribes it
        await wait_until(
            status, 120, f"recording {rec_id} transcribed", check=lambda st: st == "done", interval=0.2
        )
        async with chromium() as browser:
            page = await login_page(browser, base, "dali-agent")
            await page.goto(f"{base}/ui/voicemail")
            await page.wait_for_selector("audio")
            src = await page.eval_on_selector("audio", "a => a.getAttribute('src')")
            assert src == f"/api/recordings/{rec_id}/audio"
            state = await page.eval_on_selector(
                "audio",
                """async (a) => {
                    if (a.readyState < 1) await new Promise((ok, bad) => {
                        a.addEventListener('loadedmetadata', ok, {once: true});
                        a.addEventListener('error', () => bad(new Error('audio error ' + (a.error && a.error.code))));
                        a.load();
                    });
                    a.muted = true;
                    await a.play();
                    await new Promise((ok) => setTimeout(ok, 700));
                    return {duration: a.duration, t: a.currentTime, ready: a.readyState};
                }""",
            )
            assert state["duration"] > 4.0 and state["t"] > 0 and state["ready"] >= 2, state
            text = await page.input_value("textarea.tx")
            assert "交易" in text, text
            assert await page.locator(f"text={number}").count() == 1
            await page.screenshot(path=str(screenshot_path("voicemail_inbox")), full_page=True)

            for who, status in (("km-agent", 404), ("unit-user", 403)):
                other = await login_page(browser, base, who)
                resp = await other.goto(f"{base}{src}")
                assert resp is not None and resp.status == status, who
