"""``hotline models fetch NAME``: download a speech model from its official source, check its sha256,
install it where the settings look (``models_dir``, default ``var/models``; see recordings/stt/locate.py).

Nothing is installed unless every byte checks out: files are downloaded into a temporary directory
inside ``models_dir`` (size-capped, hashed while streaming), archives are unpacked there (no path may
leave it), and only then is the model directory renamed into place. ``--mirror URL`` fetches the same
file names from another server (an organisation's mirror); the official sha256 still applies.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from recordings.stt.locate import VOSK_DIRNAME, WHISPER_DIRNAME, is_vosk_model, is_whisper_model

CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    url: str
    sha256: str
    size: int | None = None  # exact size when published: a longer download is cut off and refused


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dirname: str  # installed as models_dir/dirname
    files: tuple[RemoteFile, ...]
    archive: bool  # True: one zip holding <dirname>/...; False: the files are the model directory
    licence: str


HF = "https://huggingface.co/Systran/faster-whisper-base/resolve/main"
#: Official sources and hashes: ../shared/models/SOURCES.md.
MODELS: dict[str, ModelSpec] = {
    "vosk-small-cn": ModelSpec(
        "vosk-small-cn",
        VOSK_DIRNAME,
        (
            RemoteFile(
                "https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
                "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
                43_898_754,
            ),
        ),
        archive=True,
        licence="Apache-2.0 (Alpha Cephei)",
    ),
    "whisper-base": ModelSpec(
        "whisper-base",
        WHISPER_DIRNAME,
        (
            RemoteFile(
                f"{HF}/model.bin",
                "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
                145_217_607,
            ),
            RemoteFile(
                f"{HF}/config.json", "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"
            ),
            RemoteFile(
                f"{HF}/tokenizer.json", "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"
            ),
            RemoteFile(
                f"{HF}/vocabulary.json", "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"
            ),
        ),  # fmt: skip
        archive=False,
        licence="MIT (OpenAI Whisper base, CTranslate2 conversion)",
    ),
}
MAX_UNKNOWN_SIZE = 64 * 2**20  # a file without a published size may not exceed this


class FetchError(Exception):
    """The model could not be fetched or did not verify; nothing was installed."""


def _url(f: RemoteFile, mirror: str | None) -> str:
    return f"{mirror.rstrip('/')}/{f.url.rsplit('/', 1)[1]}" if mirror else f.url


def download(
    url: str, dest: Path, f: RemoteFile, timeout: float = 30.0, progress: IO[str] | None = None
) -> None:
    """Stream ``url`` into ``dest`` hashing as it goes; FetchError (and ``dest`` removed) unless the
    size and sha256 are exactly the published ones."""
    from tqdm import tqdm

    limit = f.size if f.size is not None else MAX_UNKNOWN_SIZE
    h, got = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, dest.open("wb") as out:  # noqa: S310
            total = f.size or int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name, file=progress or sys.stderr,
                      leave=False) as bar:  # fmt: skip
                while chunk := resp.read(CHUNK):
                    got += len(chunk)
                    if got > limit:
                        raise FetchError(f"{url}: larger than the published {limit} bytes; refused")
                    h.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{url}: the server answered HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
        dest.unlink(missing_ok=True)
        if isinstance(e, FetchError):
            raise
        reason = getattr(e, "reason", e)
        raise FetchError(
            f"cannot download {url}: {reason}. This machine may have no internet access: download the file "
            "elsewhere, check its sha256, and serve it with --mirror, or unpack it and set vosk_model_path / "
            "whisper_model_path"
        ) from e
    except FetchError:
        dest.unlink(missing_ok=True)
        raise
    if f.size is not None and got != f.size:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{url}: got {got} bytes, the published size is {f.size}; nothing installed")
    if h.hexdigest() != f.sha256:
        dest.unlink(missing_ok=True)
        raise FetchError(
            f"{url}: sha256 {h.hexdigest()} does not match the published {f.sha256}; nothing installed"
        )


def _unzip(archive: Path, into: Path) -> None:
    root = into.resolve()
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                target = (into / info.filename).resolve()
                if not target.is_relative_to(root) or info.filename.startswith("/"):
                    raise FetchError(
                        f"{archive.name}: member {info.filename!r} would unpack outside the model"
                    )
            z.extractall(into)
    except zipfile.BadZipFile as e:
        raise FetchError(f"{archive.name}: not a zip archive ({e})") from e


def fetch(
    name: str, models_dir: Path, *, mirror: str | None = None, spec: ModelSpec | None = None,
    force: bool = False, progress: IO[str] | None = None,
) -> Path:  # fmt: skip
    """Download, verify and install model ``name``; returns the installed directory."""
    if spec is None:
        if name not in MODELS:
            raise FetchError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
        spec = MODELS[name]
    final = models_dir / spec.dirname
    check = is_vosk_model if spec.archive else is_whisper_model
    if final.exists() and not force:
        if check(final):
            return final
        raise FetchError(f"{final} exists but is not a complete model: remove it or use --force")
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=models_dir) as tmp:
        work = Path(tmp)
        if spec.archive:
            (f,) = spec.files
            zpath = work / "download.zip"
            download(_url(f, mirror), zpath, f, progress=progress)
            _unzip(zpath, work / "unpacked")
            zpath.unlink()
            inner = work / "unpacked" / spec.dirname
            staged = inner if inner.is_dir() else work / "unpacked"
        else:
            staged = work / spec.dirname
            staged.mkdir()
            for f in spec.files:
                download(_url(f, mirror), staged / f.url.rsplit("/", 1)[1], f, progress=progress)
        if not check(staged):
            raise FetchError(
                f"{spec.name}: the verified download does not hold a usable model; nothing installed"
            )
        if final.exists():
            shutil.rmtree(final)
        staged.rename(final)
    return final
