"""Attachments citizens upload: a photo (JPEG, PNG) or a PDF document, checked by its first bytes (not
by the name or the browser's claim), at most ``MAX_BYTES``; stored under var/attachments/<case id>/."""

from __future__ import annotations

import hashlib
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024
KINDS = {  # magic → (content type, extension)
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"%PDF-": ("application/pdf", "pdf"),
}


class UploadRefused(ValueError):
    pass


def sniff(data: bytes) -> tuple[str, str]:
    for magic, kind in KINDS.items():
        if data.startswith(magic):
            return kind
    raise UploadRefused("附件只能是照片（JPG、PNG）或 PDF 文档")


def store(root: Path, case_id: int, data: bytes) -> tuple[Path, str, str]:
    """Writes the file; returns (path, content type, sha256)."""
    if len(data) > MAX_BYTES:
        raise UploadRefused(f"附件不能超过 {MAX_BYTES // (1024 * 1024)} MB")
    ctype, ext = sniff(data)
    sha = hashlib.sha256(data).hexdigest()
    d = root / str(case_id)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{sha[:16]}.{ext}"
    path.write_bytes(data)
    return path, ctype, sha
