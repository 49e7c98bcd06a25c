"""Agents' skills with levels, as Asterisk member penalties in per-skill queues (pure).

A source hotline (12315 market supervision, a minority-language line) names the skill group that
answers it. Each platform queue gets one *skill queue* per routed skill (``q-kunming-skill-market``);
every agent signed in to the platform queue is also a member of its skill queues, with a penalty
from their level in that skill (level 5 → 0 … level 1 → 4) or ``UNSKILLED_PENALTY`` without it.
A skill call joins the skill queue with ``QUEUE_MAX_PENALTY`` = ``SKILLED_MAX_PENALTY`` (only
agents with the skill ring, the best level first); a queue rule (queuerules.conf) raises the limit
to ``UNSKILLED_PENALTY`` after ``fallback_after_s``, when every signed-in agent may answer.
See docs/adr/2026-12-02-skills-as-penalties.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

SkillKind = Literal["hotline", "language"]
SKILL_SEP = "-skill-"
LEVELS = range(1, 6)
SKILLED_MAX_PENALTY = 4  # level 1 → penalty 4
UNSKILLED_PENALTY = 10
RULE = "skill-fallback"
_CODE = re.compile(r"^[a-z0-9_]{1,16}$")


class SkillConfigError(ValueError):
    """The `skills` section, or an agent's skills, are invalid; the message says which and why."""


@dataclass(frozen=True)
class SkillGroup:
    code: str  # e.g. market, yi
    name: str  # Chinese name shown to administrators, e.g. 市场监管（12315）
    kind: SkillKind = "hotline"


@dataclass(frozen=True)
class SkillSettings:
    groups: tuple[SkillGroup, ...] = ()
    fallback_after_s: int = 30  # a skill call waits this long for a skilled agent, then anyone

    def by_code(self, code: str) -> SkillGroup | None:
        return next((g for g in self.groups if g.code == code), None)


def penalty(level: int | None) -> int:
    """The member penalty of an agent in a skill queue: best level (5) → 0; no skill → UNSKILLED."""
    if level is None or level not in LEVELS:
        return UNSKILLED_PENALTY
    return 5 - level


def skill_queue(queue: str, skill: str) -> str:
    return f"{queue}{SKILL_SEP}{skill}"


def split_queue(name: str) -> tuple[str, str | None]:
    """(platform queue, skill) of a queue name; (name, None) for a platform queue."""
    base, sep, skill = name.partition(SKILL_SEP)
    return (base, skill) if sep and skill else (name, None)


def base_queue(name: str) -> str:
    return split_queue(name)[0]


def routed_suffix(skill: str | None, routed: Iterable[str]) -> str:
    """What the dialplan appends to the queue name for a call answered by ``skill`` ("" when the
    skill has no skill queues: the platform queue, every agent alike)."""
    if skill and skill in set(routed):
        return f"{SKILL_SEP}{skill}"
    return ""


def memberships(queues: Iterable[str], skills: Mapping[str, int], routed: Iterable[str]) -> dict[str, int]:
    """Every queue an agent signed in to ``queues`` belongs to, with its penalty: the platform
    queues at 0, each routed skill's queue at the agent's level's penalty (UNSKILLED without it)."""
    out: dict[str, int] = {}
    routed = tuple(routed)
    for q in queues:
        out[q] = 0
        for s in routed:
            out[skill_queue(q, s)] = penalty(skills.get(s))
    return out


def parse_levels(raw: Mapping[str, Any], settings: SkillSettings) -> dict[str, int]:
    """An agent's skills {code: level} checked against the configured groups (Chinese messages:
    administrators read them)."""
    out: dict[str, int] = {}
    for code, level in raw.items():
        if settings.by_code(code) is None:
            known = "、".join(g.code for g in settings.groups) or "（未配置技能组）"
            raise SkillConfigError(f"未知技能 {code!r}，可用技能：{known}")
        if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
            raise SkillConfigError(f"技能 {code} 的等级须为 1-5 的整数，收到 {level!r}")
        out[code] = level
    return out


def encode(skills: Mapping[str, int]) -> str:
    """Stored form: ``market:5,yi:3`` (sorted)."""
    return ",".join(f"{k}:{v}" for k, v in sorted(skills.items()))


def decode(text: str | None) -> dict[str, int]:
    """The stored form back; entries that do not parse are skipped (never raises)."""
    out: dict[str, int] = {}
    for part in (text or "").split(","):
        code, _, level = part.strip().partition(":")
        if _CODE.match(code) and level.isdigit() and int(level) in LEVELS:
            out[code] = int(level)
    return out


def parse_skills(raw: Any) -> SkillSettings:
    """The `skills` section of a platform YAML (absent: no skill groups, no skill routing)."""
    if raw is None:
        return SkillSettings()
    if not isinstance(raw, dict):
        raise SkillConfigError("'skills' must be a mapping {fallback_after_s: ..., groups: [...]}")
    after = raw.get("fallback_after_s", 30)
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= 3600:
        raise SkillConfigError(f"skills.fallback_after_s must be an integer 0-3600 seconds, got {after!r}")
    groups_raw = raw.get("groups", [])
    if not isinstance(groups_raw, list):
        raise SkillConfigError("skills.groups must be a list")
    groups = []
    for i, g in enumerate(groups_raw):
        if not isinstance(g, dict):
            raise SkillConfigError(f"skills.groups[{i}] must be a mapping")
        code, name, kind = g.get("code"), g.get("name"), g.get("kind", "hotline")
        if not isinstance(code, str) or not _CODE.match(code):
            raise SkillConfigError(f"skills.groups[{i}]: code must be 1-16 of a-z 0-9 _, got {code!r}")
        if not isinstance(name, str) or not name.strip():
            raise SkillConfigError(f"skill {code!r}: 'name' must be a non-empty string")
        if kind not in ("hotline", "language"):
            raise SkillConfigError(f"skill {code!r}: kind must be hotline or language, got {kind!r}")
        groups.append(SkillGroup(code, name.strip(), kind))
    codes = [g.code for g in groups]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise SkillConfigError(f"duplicate skill code(s) {dup}")
    return SkillSettings(tuple(groups), after)
