"""What operators need around the service: version, offline API docs, /metrics, structured logs,
backup and restore. May import app's settings/db/models and the edges; nothing imports it but the
composition root (app.main, app.cli). Commits nothing itself except through the boundary helpers."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def hotline_version() -> str:
    try:
        return version("hotline12345")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
