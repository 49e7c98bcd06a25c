"""Issue 14, defect 4 replayed: the rendered manager.conf (AMI secret) was mode 644 and the AMI user
held `system` and `command`; the database and voicemail audio were world-readable. Now: configuration
0600 in a 0700 directory, the AMI user only has the classes of what the backend sends and reads, and
the database, secrets and voicemail audio are 0600 in 0700 directories."""

from __future__ import annotations

import asyncio
import re
import stat
import wave
from pathlib import Path

from app.settings import AsteriskServer, ensure_secret
from tests.conftest import REPO, free_port, make_settings, running_app


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_rendered_asterisk_config_is_private_and_ami_rights_are_least(tmp_path):
    from asterisk_conf.ami_rights import AMI_ACTION_CLASS, AMI_READ, AMI_WRITE
    from asterisk_conf.render import RenderParams, render
    from callflow import load_config

    render(load_config(), RenderParams(base_dir=tmp_path / "ast", ami_secret="s3cret-ami", agi_secret="k3y"))
    etc = tmp_path / "ast" / "etc"
    assert mode(etc) == 0o700
    confs = sorted(etc.glob("*.conf"))
    assert confs and {c.name: mode(c) for c in confs} == {c.name: 0o600 for c in confs}
    manager = (etc / "manager.conf").read_text()
    read = re.search(r"^read = (.*)$", manager, re.M).group(1).split(",")  # type: ignore[union-attr]
    write = re.search(r"^write = (.*)$", manager, re.M).group(1).split(",")  # type: ignore[union-attr]
    for forbidden in ("system", "command", "config", "all", "dtmf", "security"):
        assert forbidden not in write
    assert set(read) <= {"call", "agent", "user", "system"}  # events only: reading grants no power
    assert tuple(read) == AMI_READ and tuple(write) == AMI_WRITE
    # every AMI action the backend's code sends is in the table the rights are derived from
    sent: set[str] = set()
    for py in [*(REPO / "app").rglob("*.py"), *(REPO / "recordings").rglob("*.py"), *(REPO / "agi_handlers").rglob("*.py")]:
        sent |= set(re.findall(r"[\"']Action[\"']\s*:\s*[\"'](\w+)[\"']", py.read_text(encoding="utf-8")))
    assert sent and sent <= set(AMI_ACTION_CLASS), sent - set(AMI_ACTION_CLASS)
    assert "HOTLINE_AGI_KEY=k3y" in (etc / "extensions.conf").read_text()


def test_database_and_secrets_are_private(tmp_path):
    from app.migrate import upgrade

    db = tmp_path / "var" / "hotline.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    assert mode(db) == 0o600 and mode(db.parent) == 0o700
    ensure_secret(tmp_path / "var", "session_secret")
    assert mode(tmp_path / "var" / "secrets") == 0o700
    assert mode(tmp_path / "var" / "secrets" / "session_secret") == 0o600


async def test_voicemail_audio_is_private(tmp_path, sqlite_url):
    """The FastAGI voicemail route as Asterisk drives it: the recording lands 0600 in 0700 directories."""
    port, key = free_port(), "vm-key-1234567890"
    settings = make_settings(tmp_path, sqlite_url, agi_enabled=True, agi_port=port,
                             asterisk=[AsteriskServer(agi_secret=key)])
    async with running_app(settings) as (app, client):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = ["agi_network_script: voicemail", "agi_uniqueid: vm-1", "agi_callerid: 13987212345",
                "agi_channel: PJSIP/trunk-1", "agi_arg_1: vm-dali", "agi_arg_2: main", f"agi_arg_3: {key}"]
        writer.write(("\n".join(head) + "\n\n").encode())
        await writer.drain()
        recorded = None
        while line := (await asyncio.wait_for(reader.readline(), 10)).decode().strip():
            if line.startswith("RECORD FILE"):
                recorded = Path(line.split()[2] + ".wav")
                with wave.open(str(recorded), "wb") as w:  # what Asterisk would write (as another umask)
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(8000)
                    w.writeframes(b"\x00\x01" * 8000)
                recorded.chmod(0o644)
            reply = b"200 result=1 (vm-dali)\n" if line.startswith("GET VARIABLE") else b"200 result=1\n"
            writer.write(reply)
            await writer.drain()
        writer.close()
        assert recorded is not None and recorded.exists()
        assert mode(recorded) == 0o600
        root = recorded.parents[3]  # <recordings_dir>/YYYY/MM/DD/<file>
        assert root.name == "recordings"
        d = recorded.parent
        while d != root.parent:
            assert mode(d) == 0o700, d
            d = d.parent
