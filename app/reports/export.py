"""A report as CSV (UTF-8 with BOM, so Excel opens the Chinese headings) and as an Excel workbook
(openpyxl): the same rows and the same formatted figures as the page."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from app.reports.figures import COLUMNS

PERIOD_NAMES = {"day": "日", "week": "周", "month": "月", "total": "合计"}


def _header(report: dict[str, Any]) -> list[str]:
    return ["统计周期", "分组", *(label for _, label, _ in COLUMNS)]


def _cells(row: dict[str, Any], *, raw: bool) -> list[Any]:
    out: list[Any] = [row.get("period_label", "合计"), row.get("dim_label", "全部")]
    for key, _, kind in COLUMNS:
        v = row.get(key)
        if raw:
            out.append(v)
        else:
            out.append("" if v is None else (f"{v * 100:.1f}%" if kind == "%" else v))
    return out


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    total = {"period_label": "合计", "dim_label": "全部", **report["total"]}
    return [*report["rows"], total]


def to_csv(report: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(_header(report))
    for row in _rows(report):
        w.writerow(_cells(row, raw=False))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "报表"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"日期 {report['start']} 至 {report['end']}，按{PERIOD_NAMES.get(report['period'], '')}统计"])
    ws.append(_header(report))
    for c in ws[3]:
        c.font = Font(bold=True)
    for row in _rows(report):
        ws.append(_cells(row, raw=True))
        for (_, _, kind), cell in zip(COLUMNS, ws[ws.max_row][2:], strict=True):
            if kind == "%":
                cell.number_format = "0.0%"
            elif kind == "s":
                cell.number_format = "0.0"
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 16
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
