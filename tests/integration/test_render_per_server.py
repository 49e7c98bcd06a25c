"""Several Asterisk servers (issue 15): `hotline asterisk render --server NAME` writes that server's
configuration with only its platforms' queues, and its dialplan's FastAGI fallback goes to a queue it
holds (one on another server cannot be joined). Unknown names are refused with the reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SERVERS = [
    {"name": "ast-province", "ami_secret": "ami-secret-province-1", "platforms": ["province", "kunming"]},
    {"name": "ast-east", "ami_secret": "ami-secret-east-2", "platforms": ["qujing", "yuxi"]},
]


def _render(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_ASTERISK": json.dumps(SERVERS)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "asterisk", "render", "--data-dir", str(tmp_path / "data"), *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _all_queues(out: Path) -> list[str]:
    return re.findall(r"^\[([^\]]+)\]", (out / "queues_hotline.conf").read_text(), re.M)


def _queues(out: Path) -> list[str]:
    """The platform queues (each also has a skill queue per routed skill: _skill_queues)."""
    return [q for q in _all_queues(out) if "-skill-" not in q]


def _skill_queues(out: Path) -> set[str]:
    return {q for q in _all_queues(out) if "-skill-" in q}


def test_each_server_gets_its_platforms_queues_and_a_fallback_it_holds(tmp_path: Path) -> None:
    a, b = tmp_path / "province", tmp_path / "east"
    assert _render(tmp_path, "--out", str(a), "--server", "ast-province").returncode == 0
    res = _render(tmp_path, "--out", str(b), "--server", "ast-east")
    assert res.returncode == 0, res.stderr
    assert _queues(a) == ["q-province", "q-kunming"]
    assert _queues(b) == ["q-qujing", "q-yuxi"]
    skills = ("market", "environment", "labour")  # the skills the shipped hotlines route
    assert _skill_queues(b) == {f"{q}-skill-{s}" for q in ("q-qujing", "q-yuxi") for s in skills}
    assert "penaltychange => 30,10" in (b / "queuerules_hotline.conf").read_text()
    da, db = (a / "extensions_hotline.conf").read_text(), (b / "extensions_hotline.conf").read_text()
    assert "HOTLINE_DEFAULT_QUEUE=q-province\n" in da and "Set(HOTLINE_PLATFORM=province)" in da
    assert "HOTLINE_DEFAULT_QUEUE=q-qujing\n" in db and "Set(HOTLINE_PLATFORM=qujing)" in db
    assert "HOTLINE_SERVER=ast-east\n" in db
    # each server's AMI user has its own secret
    assert "ami-secret-east-2" in (b / "manager_hotline.conf").read_text()
    assert "ami-secret-province-1" not in (b / "manager_hotline.conf").read_text()


def test_without_server_platforms_every_queue_is_rendered(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_ASTERISK": json.dumps([{"ami_secret": "s-1"}])}
    out = tmp_path / "all"
    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "asterisk", "render", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert len(_queues(out)) == 17 and len(_skill_queues(out)) == 17 * 3 and "HOTLINE_DEFAULT_QUEUE=q-province\n" in (out / "extensions_hotline.conf").read_text()


def test_unknown_server_or_platform_is_refused(tmp_path: Path) -> None:
    res = _render(tmp_path, "--out", str(tmp_path / "x"), "--server", "ast-west")
    assert res.returncode == 2 and "no Asterisk server named 'ast-west'" in res.stderr
    assert not (tmp_path / "x").exists()
    bad = [{"name": "ast-x", "ami_secret": "s-2", "platforms": ["atlantis"]}]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_ASTERISK": json.dumps(bad)}
    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "asterisk", "render", "--out", str(tmp_path / "y")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2 and "unknown platform(s) atlantis" in res.stderr
