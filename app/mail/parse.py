"""One citizen's e-mail, as received (bytes), into what intake needs: sender, subject, plain text,
attachments, and the case number a reply to our acknowledgement carries in its subject.

Chinese mail decodes right: declared GB2312/GBK are read as GB18030 (their superset: senders declare
GB2312 and use GBK characters), base64 and quoted-printable bodies, RFC 2047 encoded headers (and a
subject sent as raw 8-bit UTF-8 or GBK) and RFC 2231 file names. Hostile mail is refused or cleaned,
never trusted: over ``MAX_BYTES`` refused; more than ``MAX_PARTS`` parts or nesting deeper than
``MAX_DEPTH`` refused; an HTML-only mail becomes its text (scripts, styles and tags dropped, nothing
executed or kept); a wrong or unknown charset is decoded with replacement characters and noted, never
an exception; NUL characters are removed (noted). Pure: no I/O."""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parseaddr

MAX_BYTES = 10 * 1024 * 1024
MAX_PARTS = 50
MAX_DEPTH = 5
MAX_TEXT = 20_000
CASE_NUMBER = re.compile(r"\b([A-Z]{2,10}-\d{8}-\d{3,6})\b")
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
}
_DROP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/tr)\b[^>]*>", re.I)


class MailRefused(ValueError):
    """Why a message is not taken in, in the words the 拒收邮件 page shows."""


def too_large(size: int) -> str:
    return f"邮件 {size} 字节，超过上限 {MAX_BYTES} 字节"


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    sender: str
    subject: str
    text: str
    case_number: str | None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _charset(part: Message) -> str:
    cs = (part.get_content_charset() or "utf-8").lower()
    return _ALIASES.get(cs, cs)


def _bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _decode(part: Message, notes: list[str]) -> str:
    raw = _bytes(part)
    cs = _charset(part)
    try:
        return raw.decode(cs)
    except LookupError:
        notes.append(f"未知字符集 {cs}：按 UTF-8 解码，无法识别的字符已替换")
        return raw.decode("utf-8", errors="replace")
    except UnicodeDecodeError:
        for alt in ("utf-8", "gb18030"):
            try:
                text = raw.decode(alt)
            except UnicodeDecodeError:
                continue
            notes.append(f"声明为 {cs}，实为 {alt}")
            return text
        notes.append(f"不是有效的 {cs}：无法识别的字符已替换")
        return raw.decode(cs, errors="replace")


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _raw_header(raw: bytes, name: bytes) -> bytes | None:
    """A header's value as sent (unfolded bytes), from the message's header block."""
    head = raw[: 256 * 1024]
    end = _HEADER_END.search(head)
    lines = (head[: end.start()] if end else head).split(b"\n")
    for i, line in enumerate(lines):
        if line.lower().startswith(name + b":"):
            value = line[len(name) + 1 :]
            for more in lines[i + 1 :]:
                if more[:1] not in (b" ", b"\t"):
                    break
                value += more
            return value.replace(b"\r", b"").strip()
    return None


def _header_8bit(raw: bytes, name: bytes, label: str, parsed: str, notes: list[str]) -> str:
    """A header sent as raw 8-bit bytes (not RFC 2047), as some Chinese mail clients send the subject:
    read as UTF-8 when it is, else as GB18030 (the email package cannot know the charset)."""
    value = _raw_header(raw, name)
    if not value or max(value) < 0x80 or b"=?" in value:
        return parsed
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        notes.append(f"{label}未按标准编码，按 GB18030 读取")
        return value.decode("gb18030", errors="replace")


def nul_free(text: str) -> str:
    """Without NUL characters: they carry nothing in a citizen's text, and PostgreSQL cannot store them."""
    return text.replace("\x00", "")


def html_to_text(markup: str) -> str:
    text = _DROP.sub(" ", markup)
    text = _BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"[ \t\r\f\v]+", " ", re.sub(r"\n\s*\n+", "\n\n", text)).strip()


def _walk(msg: Message, depth: int, out: list[tuple[Message, int]]) -> None:
    if depth > MAX_DEPTH:
        raise MailRefused(f"邮件嵌套超过 {MAX_DEPTH} 层")
    out.append((msg, depth))
    if len(out) > MAX_PARTS:
        raise MailRefused(f"邮件分段超过 {MAX_PARTS} 个")
    if msg.is_multipart():
        for sub in msg.get_payload():  # type: ignore[union-attr]
            if isinstance(sub, Message):
                _walk(sub, depth + 1, out)


def parse(raw: bytes) -> ParsedMail:
    if len(raw) > MAX_BYTES:
        raise MailRefused(too_large(len(raw)))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts: list[tuple[Message, int]] = []
    _walk(msg, 0, parts)
    notes: list[str] = []
    plain: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    for part, _ in parts:
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        ctype = part.get_content_type()
        if disposition == "attachment" or (part.get_filename() and ctype not in ("text/plain", "text/html")):
            attachments.append(
                Attachment((part.get_filename() or "附件")[:255], ctype, _bytes(part))
            )
        elif ctype == "text/plain":
            plain.append(_decode(part, notes))
        elif ctype == "text/html":
            htmls.append(_decode(part, notes))
    if plain:
        text = "\n\n".join(p.strip() for p in plain)
    else:
        text = "\n\n".join(html_to_text(h) for h in htmls)
        if htmls:
            notes.append("只有 HTML 正文：已转为纯文本（脚本、样式和标记已去除）")
    sender = nul_free(parseaddr(str(msg.get("From", "")))[1]).strip().lower()
    if "@" not in sender:
        raise MailRefused("没有发件人地址")
    subject = _header_8bit(raw, b"subject", "邮件标题", str(msg.get("Subject", "")), notes)
    if "\x00" in text or "\x00" in subject:
        notes.append("已去除 NUL 字符")
    subject, text = nul_free(subject).strip()[:255], nul_free(text)
    for a in attachments:
        a.filename = nul_free(a.filename) or "附件"
    found = CASE_NUMBER.search(subject)
    return ParsedMail(
        message_id=nul_free(str(msg.get("Message-ID", ""))).strip()[:255],
        sender=sender[:255],
        subject=subject,
        text=text[:MAX_TEXT],
        case_number=found.group(1) if found else None,
        attachments=attachments,
        notes=notes,
    )
