"""`hotline backup OUT` / `hotline restore IN`: the database and the recordings in one archive.

Archive (tar, gzip; mode 0600 — it holds citizens' data):
  manifest.json            format, hotline version, database kind, source recordings dir, row counts,
                           and every member's size and SHA-256
  database/hotline.sqlite  SQLite: a consistent copy by the online backup API (the service may run)
  database/hotline.pgdump  PostgreSQL: `pg_dump --format=custom` (consistent snapshot; service may run)
  recordings/…             every file under the recordings directory

Restore goes only into an EMPTY instance (no cases, calls, recordings or audit rows) with the service
stopped: it verifies every checksum before touching anything, restores the database (SQLite backup
API / `pg_restore`), puts the recordings under this instance's recordings directory (files 0600, new directories 0700) and
rewrites the recording paths if that directory differs from the source's. Passwords for PostgreSQL
travel in PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from app.ops import hotline_version
from app.settings import Settings

FORMAT = 1
COUNTED = ("cases", "case_events", "calls", "recordings", "users", "outbox")
MUST_BE_EMPTY = ("cases", "case_events", "calls", "recordings")
CHUNK = 1 << 20


class BackupError(Exception):
    """A clear, user-facing reason; nothing was changed."""


Progress = Callable[[int], Any]


@dataclass
class Result:
    archive: Path
    manifest: dict[str, Any]


def _sha256(path: Path, progress: Progress | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()


def _sqlite_path(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(db)


def _pg(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments and environment (password only in the environment)."""
    u = make_url(url)
    args = ["--host", u.host or "127.0.0.1", "--port", str(u.port or 5432), "--dbname", u.database or ""]
    if u.username:
        args += ["--username", u.username]
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _counts(url: str) -> dict[str, int]:
    if make_url(url).get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            return {}
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return {
                t: int(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
                for t in COUNTED
                if t in names
            }
        finally:
            con.close()
    args, env = _pg(url)
    names_sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    names = set(_psql(args, env, names_sql).split())
    out = {}
    for t in COUNTED:
        if t in names:
            out[t] = int(_psql(args, env, f'SELECT count(*) FROM "{t}"').strip())
    return out


def _psql(args: list[str], env: dict[str, str], sql: str) -> str:
    res = subprocess.run(["psql", *args, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], env=env,
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode != 0:
        raise BackupError(f"psql: {res.stderr.strip()}")
    return res.stdout


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    return path


def backup(settings: Settings, out: Path, progress: Callable[[int, int], Any] | None = None) -> Result:
    """Writes the archive to `out` (a directory: a timestamped file inside it)."""
    url = settings.database_url
    kind = make_url(url).get_backend_name()
    rec_dir = settings.recordings_dir
    assert rec_dir is not None
    if out.is_dir():
        out = out / f"hotline-backup-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
    if out.exists():
        raise BackupError(f"{out} exists; choose another name")
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in rec_dir.rglob("*") if p.is_file()) if rec_dir.exists() else []
    with tempfile.TemporaryDirectory(prefix="hotline-backup-", dir=out.parent) as tmp:
        os.chmod(tmp, 0o700)
        if kind == "sqlite":
            src_path = _sqlite_path(url)
            if not src_path.exists():
                raise BackupError(f"no database at {src_path}")
            db_file = Path(tmp) / "hotline.sqlite"
            src, dst = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True), sqlite3.connect(db_file)
            try:
                src.backup(dst)  # online backup API: a consistent copy while the service writes
            finally:
                dst.close()
                src.close()
            db_member = "database/hotline.sqlite"
        else:
            args, env = _pg(url)
            db_file = Path(tmp) / "hotline.pgdump"
            res = subprocess.run([_need("pg_dump"), *args, "--format=custom", "--no-owner", "--no-privileges",
                                  "--file", str(db_file)], env=env, capture_output=True, text=True)  # fmt: skip
            if res.returncode != 0:
                raise BackupError(f"pg_dump failed: {res.stderr.strip()}")
            db_member = "database/hotline.pgdump"
        total = db_file.stat().st_size * 2 + sum(p.stat().st_size for p in files) * 2
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            if progress:
                progress(done[0], total)

        members: dict[str, dict[str, Any]] = {
            db_member: {"size": db_file.stat().st_size, "sha256": _sha256(db_file, step)}
        }
        for p in files:
            members[f"recordings/{p.relative_to(rec_dir).as_posix()}"] = {
                "size": p.stat().st_size,
                "sha256": _sha256(p, step),
            }
        manifest = {
            "format": FORMAT, "created_at": datetime.now(UTC).isoformat(), "hotline_version": hotline_version(),
            "database": kind, "recordings_dir": str(rec_dir), "counts": _counts(url), "files": members,
        }  # fmt: skip
        mpath = Path(tmp) / "manifest.json"
        mpath.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        partial = out.with_name(out.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            tar.add(mpath, "manifest.json")
            tar.add(db_file, db_member)
            step(db_file.stat().st_size)
            for p in files:
                tar.add(p, f"recordings/{p.relative_to(rec_dir).as_posix()}")
                step(p.stat().st_size)
        os.replace(partial, out)
    return Result(out, manifest)


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            f = tar.extractfile("manifest.json")
            if f is None:
                raise KeyError("manifest.json")
            manifest: dict[str, Any] = json.loads(f.read())
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as e:
        raise BackupError(f"{archive}: not a hotline backup ({e})") from e
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: backup format {manifest.get('format')!r}, this version reads {FORMAT}")
    return manifest


def restore(
    settings: Settings, archive: Path, progress: Callable[[int, int], Any] | None = None
) -> dict[str, Any]:
    """Restores into this (empty, stopped) instance; returns the manifest. Raises BackupError."""
    if not archive.is_file():
        raise BackupError(f"no such file: {archive}")
    manifest = read_manifest(archive)
    url = settings.database_url
    kind = make_url(url).get_backend_name()
    if manifest["database"] != kind:
        raise BackupError(f"the backup holds a {manifest['database']} database; this instance uses {kind}")
    existing = _counts(url)
    busy = {t: n for t, n in existing.items() if t in MUST_BE_EMPTY and n}
    if busy:
        raise BackupError(f"this instance is not empty ({', '.join(f'{t}: {n}' for t, n in busy.items())}); "
                          "restore into a fresh database and recordings directory")  # fmt: skip
    rec_dir = settings.recordings_dir
    assert rec_dir is not None
    files: dict[str, dict[str, Any]] = manifest["files"]
    total = sum(int(f["size"]) for f in files.values())
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)

    parent = rec_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hotline-restore-", dir=parent) as tmp:
        os.chmod(tmp, 0o700)
        root = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                if member.name == "manifest.json":
                    continue
                if member.name not in files or not member.isfile():
                    raise BackupError(f"{archive}: unexpected member {member.name!r}")
                tar.extract(member, root, filter="data")
        for name, meta in files.items():
            p = root / name
            if not p.is_file() or _sha256(p, step) != meta["sha256"]:
                raise BackupError(
                    f"{archive}: {name} is missing or its checksum does not match; nothing restored"
                )
        db_member = next(n for n in files if n.startswith("database/"))
        _restore_database(url, kind, root / db_member)
        # an existing directory keeps the mode the operator gave it (group-shared with Asterisk)
        if not rec_dir.exists():
            rec_dir.mkdir(parents=True, mode=0o700)
        for name in files:
            if not name.startswith("recordings/"):
                continue
            dest = rec_dir / name.removeprefix("recordings/")
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.move(root / name, dest)
            os.chmod(dest, 0o600)
    if str(rec_dir) != manifest["recordings_dir"]:
        _rewrite_paths(url, manifest["recordings_dir"], str(rec_dir))
    return manifest


def _restore_database(url: str, kind: str, dump: Path) -> None:
    if kind == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        src, dst = sqlite3.connect(f"file:{dump}?mode=ro", uri=True), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        os.chmod(target, 0o600)
        return
    args, env = _pg(url)
    res = subprocess.run([_need("pg_restore"), *args, "--clean", "--if-exists", "--no-owner", "--no-privileges",
                          "--single-transaction", "--exit-on-error", str(dump)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode != 0:
        raise BackupError(f"pg_restore failed: {res.stderr.strip()}")


def _rewrite_paths(url: str, old: str, new: str) -> None:
    """Recording rows name absolute paths: point them at this instance's recordings directory."""
    old_prefix, new_prefix = old.rstrip("/") + "/", new.rstrip("/") + "/"
    n = len(old_prefix)
    if make_url(url).get_backend_name() == "sqlite":
        con = sqlite3.connect(_sqlite_path(url))
        try:
            con.execute("UPDATE recordings SET path = ? || substr(path, ?) WHERE substr(path, 1, ?) = ?",
                        (new_prefix, n + 1, n, old_prefix))  # fmt: skip
            con.commit()
        finally:
            con.close()
        return

    def lit(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    args, env = _pg(url)
    _psql(args, env, f"UPDATE recordings SET path = {lit(new_prefix)} || substr(path, {n + 1}) "
                     f"WHERE substr(path, 1, {n}) = {lit(old_prefix)}")  # fmt: skip
