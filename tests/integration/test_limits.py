"""Oversized request bodies get a clear 413 and change nothing."""

from __future__ import annotations

from tests.conftest import make_settings, running_app


async def test_oversized_body_is_refused_with_413(tmp_path, sqlite_url):
    async with running_app(make_settings(tmp_path, sqlite_url, max_upload_bytes=1024)) as (_app, client):
        r = await client.post(
            "/api/auth/login", content=b"x" * 2048, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413
        assert "too large" in r.json()["detail"]

        async def chunks():  # no Content-Length: counted while streaming
            for _ in range(4):
                yield b"y" * 512

        r = await client.post(
            "/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413
        # a normal request still works
        r = await client.post("/api/auth/login", json={"username": "nobody", "password": "wrong-password"})
        assert r.status_code == 401
