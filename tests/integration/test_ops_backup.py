"""`hotline backup` / `hotline restore` through the real command line, on SQLite and PostgreSQL: a
restore into an EMPTY instance finds every case, audit row and recording (file bytes equal); a
second restore into the now non-empty instance and a tampered archive are refused with a clear
message and change nothing."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import subprocess
import sys
import tarfile
import uuid
import wave
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import REPO, _pg_admin, login, make_settings, running_app
from tests.integration.test_cases_helpers import world


def _wav(path: Path, seconds: float = 0.5, freq: int = 440) -> bytes:
    import math

    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(8000 * seconds)
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / 8000))) for i in range(n)
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames)
    return path.read_bytes()


def _cli(*args: str, var_dir: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_VAR_DIR": str(var_dir), "HOTLINE_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def _has_files(d: Path) -> bool:
    return d.exists() and any(p.is_file() for p in d.rglob("*"))


async def _rows(app: Any) -> dict[str, list[dict[str, Any]]]:
    from app.cases.models import Case, CaseEvent
    from app.voicemail.models import Recording

    out = {}
    async with app.state.runtime.db.sessionmaker() as s:
        for name, model in (("cases", Case), ("events", CaseEvent), ("recordings", Recording)):
            rows = (await s.execute(select(model.__table__).order_by(model.__table__.c.id))).mappings().all()
            out[name] = [dict(r) for r in rows]
    return out


async def test_backup_and_restore_into_an_empty_instance(tmp_path, db_url, monkeypatch):
    from app.voicemail.service import store_voicemail

    monkeypatch.setenv("HOTLINE_STT_ENGINE", "none")  # rows stay as backed up: no worker transcribes them

    src = tmp_path / "src"
    async with world(src, db_url) as w:
        numbers = [(await w.create(summary=f"停水第{i}天"))["case"]["number"] for i in range(3)]
        await w.act("km.agent", numbers[0], "dispatch", unit_code="km-water", note="请核查")
        await w.act("water.h", numbers[0], "sign")
        rec_dir = w.runtime.settings.recordings_dir
        audio = {}
        for i, rel in enumerate(["kunming/2026/12/02/vm-1.wav", "dali/2026/12/02/vm-2.wav"]):
            audio[rel] = _wav(rec_dir / rel, freq=440 + 100 * i)
            async with w.session() as s:
                await store_voicemail(s, path=rec_dir / rel, caller="13987112345", platform="kunming",
                                      prefecture="kunming", mailbox="kunming", call_uniqueid=f"1700.{i}")  # fmt: skip
                await s.commit()
        before = await _rows(w.app)
        # online: the backup is taken while the service runs (SQLite in WAL mode, PostgreSQL snapshot)
        backups = tmp_path / "backups"
        backups.mkdir()
        out = await asyncio.to_thread(_cli, "backup", str(backups), var_dir=src / "var", db_url=db_url)
        assert (await w.client.get("/health")).status_code == 200
    assert len(before["cases"]) == 5 and len(before["recordings"]) == 2 and len(before["events"]) >= 7
    assert out.returncode == 0, out.stderr
    (archive,) = backups.iterdir()
    assert "backup written" in out.stdout and "2 recording files" in out.stdout
    assert archive.stat().st_mode & 0o777 == 0o600

    # the empty instance: a new database and a new var directory
    dst = tmp_path / "dst"
    made: list[str] = []

    async def empty_database(label: str) -> str:
        if db_url.startswith("sqlite"):
            return f"sqlite+aiosqlite:///{tmp_path / label}.db"
        made.append(f"hotline_restore_{uuid.uuid4().hex[:8]}")
        await _pg_admin(f'CREATE DATABASE "{made[-1]}"')
        return db_url.rsplit("/", 1)[0] + "/" + made[-1]

    target = await empty_database("restored")
    try:
        # as the guide has it: the new instance is installed and migrated (tables, no rows), then restored
        migrated = _cli("migrate", var_dir=dst / "var", db_url=target)
        assert migrated.returncode == 0, migrated.stderr
        res = _cli("restore", str(archive), var_dir=dst / "var", db_url=target)
        assert res.returncode == 0, res.stderr
        assert "restored backup" in res.stdout

        settings = make_settings(dst, target)
        async with running_app(settings) as (app, client):
            after = await _rows(app)
            assert after["cases"] == before["cases"]
            assert after["events"] == before["events"]
            assert len(after["recordings"]) == len(before["recordings"])
            new_dir = settings.recordings_dir
            assert new_dir is not None and (new_dir.stat().st_mode & 0o777) == 0o700
            for a, b in zip(after["recordings"], before["recordings"], strict=True):
                rel = Path(b["path"]).relative_to(rec_dir).as_posix()
                assert a["path"] == str(new_dir / rel)  # paths follow this instance's directory
                assert await asyncio.to_thread(Path(a["path"]).read_bytes) == audio[rel]
                assert {k: v for k, v in a.items() if k != "path"} == {
                    k: v for k, v in b.items() if k != "path"
                }
                assert (await asyncio.to_thread(Path(a["path"]).stat)).st_mode & 0o777 == 0o600
            # users came back too: the agent logs in with the old password and opens the case
            h = await login(client, "km.agent")
            r = await client.get(f"/api/cases/{numbers[0]}", headers=h)
            assert r.status_code == 200 and r.json()["status"] == "signed"

        # a second restore into the now non-empty instance is refused; nothing changes
        again = _cli("restore", str(archive), var_dir=dst / "var", db_url=target)
        assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr

        # a tampered archive is refused before anything is touched
        bad = tmp_path / "tampered.tar.gz"
        with tarfile.open(archive, "r:gz") as tin, tarfile.open(bad, "w:gz") as tout:
            for m in tin.getmembers():
                data = tin.extractfile(m).read()  # type: ignore[union-attr]
                if m.name.startswith("recordings/"):
                    data = data[:-1] + bytes([data[-1] ^ 1])
                tout.addfile(m, io.BytesIO(data))
        empty = tmp_path / "empty"
        empty_url = await empty_database("empty")
        refused = _cli("restore", str(bad), var_dir=empty / "var", db_url=empty_url)
        assert refused.returncode == 1, refused.stderr
        assert "checksum does not match" in refused.stderr and "nothing restored" in refused.stderr
        assert not await asyncio.to_thread(_has_files, empty / "var" / "recordings")
        async with running_app(make_settings(empty, empty_url)) as (app, _client):
            assert (await _rows(app))["cases"] == []
    finally:
        for name in made:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
