"""Import articles from CSV or Markdown (pure parsing: text in, ArticleIn rows and errors out).

CSV: a header row naming the columns, in English or Chinese — title/标题, body/正文/内容 (both
required), keywords/关键词, category/分类, scope/范围, owner_unit/单位, review_due/复审日期.

Markdown: one article per level-1 heading (``# 标题``); lines right under the heading of the form
``分类: 0402`` / ``关键词: …`` / ``范围: province`` / ``单位: km-water`` / ``复审日期: 2027-06-30`` (or the
English names) are its fields, the rest is the body.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

from pydantic import ValidationError

from app.kb.schemas import ArticleIn

MAX_ARTICLES = 5000
FIELDS = {
    "title": "title", "标题": "title", "body": "body", "正文": "body", "内容": "body",
    "keywords": "keywords", "关键词": "keywords", "category": "category_code", "category_code": "category_code",
    "分类": "category_code", "scope": "scope", "范围": "scope", "owner_unit": "owner_unit", "单位": "owner_unit",
    "主管单位": "owner_unit", "review_due": "review_due", "复审日期": "review_due",
}  # fmt: skip
_META = re.compile(r"^\s*([A-Za-z_\u4e00-\u9fff]+)\s*[:：]\s*(.*)$")


def _article(raw: dict[str, Any], status: str, where: str, errors: list[str]) -> ArticleIn | None:
    data: dict[str, Any] = {k: v.strip() for k, v in raw.items() if isinstance(v, str) and v.strip()}
    try:
        if "review_due" in data:
            data["review_due"] = date.fromisoformat(data["review_due"])
        return ArticleIn(status=status, note="导入", **data)  # type: ignore[arg-type]
    except ValueError as e:
        msg = (
            "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            if isinstance(e, ValidationError)
            else str(e)
        )
        errors.append(f"{where}: {msg}")
        return None


def parse_csv(text: str, status: str = "draft") -> tuple[list[tuple[str, ArticleIn]], list[str]]:
    # newline="": the csv module reads the line ends itself (a quoted field may hold a new line; a file
    # saved on Windows or an old Mac ends lines in \r\n or \r)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _csv_rows(reader, status)
    except csv.Error as e:  # a field over the csv module's size limit, a stray quote in strict files…
        return [], [f"line {reader.line_num}: not readable as CSV ({e})"]


def _csv_rows(reader: Any, status: str) -> tuple[list[tuple[str, ArticleIn]], list[str]]:
    header = next(reader, None)
    if not header:
        return [], ["empty CSV"]
    cols = [FIELDS.get(h.strip().lower(), FIELDS.get(h.strip(), "")) for h in header]
    if "title" not in cols or "body" not in cols:
        return [], [f"the header must name title/标题 and body/正文 columns, got {', '.join(header)}"]
    out: list[tuple[str, ArticleIn]] = []
    errors: list[str] = []
    for n, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(out) + len(errors) >= MAX_ARTICLES:
            errors.append(f"more than {MAX_ARTICLES} rows: the rest was not imported")
            break
        raw = {c: v for c, v in zip(cols, row, strict=False) if c}
        a = _article(raw, status, f"line {n}", errors)
        if a is not None:
            out.append((f"line {n}", a))
    return out, errors


def parse_markdown(text: str, status: str = "draft") -> tuple[list[tuple[str, ArticleIn]], list[str]]:
    out: list[tuple[str, ArticleIn]] = []
    errors: list[str] = []
    sections: list[tuple[int, str, list[str]]] = []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if line.startswith("# "):
            sections.append((n, line[2:].strip(), []))
        elif sections:
            sections[-1][2].append(line)
        elif line.strip():
            errors.append(f"line {n}: text before the first '# ' heading is ignored")
    if not sections:
        return [], errors + ["no article: each article starts with a '# title' line"]
    for n, title, lines in sections[:MAX_ARTICLES]:
        raw: dict[str, Any] = {"title": title}
        i = 0
        while i < len(lines):
            m = _META.match(lines[i])
            if not lines[i].strip() and i == 0:
                i += 1
                continue
            if m is None or FIELDS.get(m.group(1).lower(), FIELDS.get(m.group(1))) in (None, "title", "body"):
                break
            raw[FIELDS.get(m.group(1).lower(), FIELDS.get(m.group(1), ""))] = m.group(2)
            i += 1
        raw["body"] = "\n".join(lines[i:]).strip()
        where = f"line {n} ({title[:20]})"
        a = _article(raw, status, where, errors)
        if a is not None:
            out.append((where, a))
    if len(sections) > MAX_ARTICLES:
        errors.append(f"more than {MAX_ARTICLES} articles: the rest was not imported")
    return out, errors


def parse(fmt: str, text: str, status: str = "draft") -> tuple[list[tuple[str, ArticleIn]], list[str]]:
    """(where, article) pairs — where names the line, for error messages — and the errors."""
    return parse_csv(text, status) if fmt == "csv" else parse_markdown(text, status)
