"""`hotline models fetch`: download, sha256 check and install, against files served on 127.0.0.1 by a
python http.server this test starts and stops (by its PID). No packet leaves loopback."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from recordings.models_fetch import MODELS, FetchError, ModelSpec, RemoteFile, fetch
from recordings.stt import make_engine
from recordings.stt.locate import VOSK_DIRNAME, find_vosk_model, find_zh_dev
from recordings.stt.vosk_engine import VoskEngine

REPO = Path(__file__).resolve().parents[2]
VOSK, ZH_DEV = find_vosk_model(), find_zh_dev()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, directory it serves) — a real HTTP server on 127.0.0.1, stopped by its PID."""
    root = tmp_path / "www"
    root.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", root
    finally:
        os.kill(proc.pid, 15)
        proc.wait(timeout=10)


def zip_model(src: Path, out: Path) -> str:
    """The official archive's layout (<dirname>/am/final.mdl ...); returns its sha256."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                z.write(f, f"{VOSK_DIRNAME}/{f.relative_to(src)}")
    return hashlib.sha256(out.read_bytes()).hexdigest()


def spec_for(url: str, sha: str, size: int | None) -> ModelSpec:
    real = MODELS["vosk-small-cn"]
    return ModelSpec(
        real.name, real.dirname, (RemoteFile(url, sha, size),), archive=True, licence=real.licence
    )


@pytest.mark.needs("models", "audio")  # missing: a failure (tests/resources.py)
def test_fetch_verifies_installs_and_auto_then_transcribes(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    assert VOSK is not None and ZH_DEV is not None
    archive = root / "vosk-model-small-cn-0.22.zip"
    sha = zip_model(VOSK, archive)
    models = tmp_path / "models"
    spec = spec_for(f"{base}/{archive.name}", sha, archive.stat().st_size)
    got = fetch("vosk-small-cn", models, spec=spec)
    assert got == models / VOSK_DIRNAME and (got / "am" / "final.mdl").is_file()
    assert [p.name for p in models.iterdir()] == [VOSK_DIRNAME]  # no temporary leftovers
    # auto picks the installed model (an empty shared dir: nothing else to find) and it transcribes
    e = make_engine("auto", models_dir=models, shared_dir=tmp_path / "no-shared")
    assert isinstance(e, VoskEngine) and e.model_path == got
    t = e.transcribe(ZH_DEV / "8k" / "kimi_asr_example.wav")
    assert "篇章" in t.text
    assert fetch("vosk-small-cn", models, spec=spec) == got  # already installed: nothing downloaded


def test_wrong_hash_or_size_installs_nothing(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    blob = root / "vosk-model-small-cn-0.22.zip"
    blob.write_bytes(b"PK not really a model" * 1000)
    good_sha = hashlib.sha256(blob.read_bytes()).hexdigest()
    models = tmp_path / "models"
    with pytest.raises(FetchError, match="does not match the published"):
        fetch("x", models, spec=spec_for(f"{base}/{blob.name}", "0" * 64, blob.stat().st_size))
    with pytest.raises(FetchError, match="larger than the published 100 bytes"):
        fetch("x", models, spec=spec_for(f"{base}/{blob.name}", good_sha, 100))
    with pytest.raises(FetchError, match="not a zip archive"):  # verified bytes, but not a model
        fetch("x", models, spec=spec_for(f"{base}/{blob.name}", good_sha, blob.stat().st_size))
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch("x", models, spec=spec_for(f"{base}/missing.zip", good_sha, None))
    assert list(models.iterdir()) == []  # nothing installed, no partial file left


def test_zip_slip_is_refused(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    evil = root / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../outside.txt", "x")
    sha = hashlib.sha256(evil.read_bytes()).hexdigest()
    with pytest.raises(FetchError, match="outside the model"):
        fetch("x", tmp_path / "models", spec=spec_for(f"{base}/evil.zip", sha, evil.stat().st_size))
    assert not (tmp_path / "outside.txt").exists()


def _hotline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_SESSION_SECRET": "x"}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_cli_with_mirror_checks_the_official_hash(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    (root / "vosk-model-small-cn-0.22.zip").write_bytes(b"tampered" * 100)
    r = _hotline(tmp_path, "models", "fetch", "vosk-small-cn", "--mirror", base)
    assert r.returncode == 1
    assert "got 800 bytes, the published size is 43898754; nothing installed" in r.stderr
    assert not (tmp_path / "var" / "models" / VOSK_DIRNAME).exists()


def test_cli_unreachable_source_says_there_may_be_no_internet(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: like a machine with no way out
    r = _hotline(tmp_path, "models", "fetch", "whisper-base", "--mirror", closed)
    assert r.returncode == 1
    assert "cannot download" in r.stderr and "may have no internet access" in r.stderr
    assert "--mirror" in r.stderr
