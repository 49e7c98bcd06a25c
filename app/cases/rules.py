"""Case rules: deadlines, numbering, categories, scheduler. Defaults follow the provincial plan;
an administrator overrides any of them with YAML (``settings.case_rules``, i.e. ``$HOTLINE_CASE_RULES``, or
``<var_dir>/case_rules.yaml``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from app.runtime import Key
from callflow.calendar import normalise_windows

CASE_TYPES = ("consultation", "help", "suggestion", "complaint", "report", "praise")
CHANNELS = ("phone", "voicemail", "web", "sms", "email", "wechat")


class Category(BaseModel):
    code: str
    name: str
    children: list[Category] = Field(default_factory=list)


# A small two-level tree in the style of GB/T 39666 (政务服务便民热线 工单分类): top-level domain,
# second-level matter. Codes are stable strings; the administrator replaces the tree in YAML.
DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    {
        "code": "01",
        "name": "城乡建设",
        "children": [
            {"code": "0101", "name": "供水"},
            {"code": "0102", "name": "供电"},
            {"code": "0103", "name": "供气"},
            {"code": "0104", "name": "市政设施"},
            {"code": "0105", "name": "物业管理"},
        ],
    },
    {
        "code": "02",
        "name": "交通运输",
        "children": [
            {"code": "0201", "name": "公共交通"},
            {"code": "0202", "name": "出租车与网约车"},
            {"code": "0203", "name": "道路交通"},
        ],
    },
    {
        "code": "03",
        "name": "生态环境",
        "children": [
            {"code": "0301", "name": "噪声污染"},
            {"code": "0302", "name": "大气污染"},
            {"code": "0303", "name": "水污染"},
        ],
    },
    {
        "code": "04",
        "name": "劳动和社会保障",
        "children": [
            {"code": "0401", "name": "欠薪"},
            {"code": "0402", "name": "社会保险"},
            {"code": "0403", "name": "就业创业"},
        ],
    },
    {
        "code": "05",
        "name": "市场监管",
        "children": [
            {"code": "0501", "name": "消费维权"},
            {"code": "0502", "name": "食品安全"},
            {"code": "0503", "name": "价格"},
        ],
    },
    {
        "code": "06",
        "name": "教育卫生",
        "children": [
            {"code": "0601", "name": "教育"},
            {"code": "0602", "name": "医疗卫生"},
            {"code": "0603", "name": "医保"},
        ],
    },
    {
        "code": "07",
        "name": "公安政法",
        "children": [{"code": "0701", "name": "户籍证件"}, {"code": "0702", "name": "治安"}],
    },
    {
        "code": "08",
        "name": "文旅",
        "children": [{"code": "0801", "name": "旅游投诉"}, {"code": "0802", "name": "景区服务"}],
    },
    {"code": "99", "name": "其他", "children": [{"code": "9901", "name": "其他事项"}]},
]

class CaseRules(BaseModel):
    # 分办: taken before the cutoff → dispatched the same day (by same_day_by), else by next_day_by
    dispatch_cutoff: str = "16:00"
    dispatch_same_day_by: str = "17:30"
    dispatch_next_day_by: str = "10:00"
    # 签收 within working hours counted in these windows on working days
    work_windows: list[tuple[str, str]] = [("09:00", "12:00"), ("13:00", "17:30")]
    sign_working_hours: float = 2
    return_hours: float = 24  # 退回 allowed within this many (calendar) hours after signing
    handle_working_days: dict[str, int] = {
        "consultation": 5,
        "help": 5,
        "suggestion": 5,
        "complaint": 15,
        "report": 15,
        "praise": 5,
    }
    extension_working_days: int = 15
    max_extensions: int = 1
    near_due_working_hours: float = 4  # yellow when due within this many working hours
    # case-number prefixes come from the platform config (case_prefix); these override them per platform
    number_prefixes: dict[str, str] = Field(default_factory=dict)
    categories: list[Category] = Field(default_factory=lambda: [Category(**c) for c in DEFAULT_CATEGORIES])
    sweep_interval_s: float = 60  # 0 disables the background scheduler
    outbox_max_attempts: int = 20
    outbox_retry_s: float = 60

    @field_validator("work_windows")
    @classmethod
    def _windows(cls, v: list[tuple[str, str]]) -> list[tuple[str, str]]:
        normalise_windows(v)
        return v

    @model_validator(mode="after")
    def _check(self) -> CaseRules:
        missing = set(CASE_TYPES) - set(self.handle_working_days)
        if missing:
            raise ValueError(f"handle_working_days lacks case types {sorted(missing)}")
        prefixes = list(self.number_prefixes.values())
        dup = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if dup:
            raise ValueError(f"case-number prefixes must be unique across platforms; duplicated: {dup}")
        return self

    def category_names(self) -> dict[str, str]:
        """Code -> display name (built once per rules object: every case shown asks)."""
        return self._names

    # a plain attribute once built (a pydantic private attribute costs a __getattr__ round per read)
    @cached_property
    def _names(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for top in self.categories:
            out[top.code] = top.name
            for sub in top.children:
                out[sub.code] = f"{top.name}/{sub.name}"
        return out


def load_rules(var_dir: Path | None = None, path: Path | None = None) -> CaseRules:
    """Defaults, overridden by ``path`` (settings.case_rules) or <var_dir>/case_rules.yaml when present."""
    path = path or (var_dir / "case_rules.yaml" if var_dir else None)
    if path is None or not path.exists():
        return CaseRules()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: case rules must be a mapping")
    return CaseRules(**data)


CASE_RULES: Key[CaseRules] = Key("case_rules")


def rules_of(runtime: Any) -> CaseRules:
    """The running service's rules (loaded once, kept in the runtime's CASE_RULES slot)."""
    rules = runtime.get(CASE_RULES)
    if rules is None:
        rules = load_rules(runtime.settings.var_dir, runtime.settings.case_rules)
        runtime.put(CASE_RULES, rules)
    return rules
