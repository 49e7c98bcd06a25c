"""Hot topics (热点), pure: the terms of a text (jieba segmentation, stop words out, adjacent pairs as
phrases) and bursts of a term against its own baseline in its own region and category.

A burst of (term, prefecture, category) on a day: the day's number of texts with the term is at least
``min_count``, at least ``ratio`` times the baseline mean (the mean over the ``baseline_days`` before,
days without any counting as 0), and ``z_min`` standard deviations above it, the deviation taken as
the larger of the baseline's own spread and Poisson noise (sqrt of the mean, at least 1). So a term
that is always frequent somewhere (停水 in a city with old pipes) is a burst only against that place's
usual level, and a handful of texts never makes a burst where nothing was before."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STOP = frozenset(
    "市民 反映 来电 问题 希望 要求 我们 他们 你们 现在 已经 没有 什么 怎么 一个 这个 那个 可以 还是 就是 因为 所以 但是"
    " 如果 相关 部门 处理 解决 情况 咨询 投诉 请求 帮助 今天 昨天 目前 进行 时间 地方 联系 电话 热线 您好 谢谢 表示"
    " 请求 尽快 一直 多次 经常 不能 不是 这里 那里 自己 附近 一下 需要 是否 导致 出现 发生 存在 由于 以及 并且 而且"
    " 关于 对于 其中 之前 之后 以后 已经 仍然 还有 一些 这些 那些 没人 无人 及时 严重 影响 生活 正常".split()
)
_lock = threading.Lock()
_ready = False


def _jieba() -> object:
    global _ready
    import jieba

    with _lock:
        if not _ready:
            jieba.setLogLevel(60)  # no dictionary-loading chatter in the logs
            jieba.initialize()
            _ready = True
    return jieba


def _keep(w: str) -> bool:
    return len(w) >= 2 and w not in STOP and not w.isascii()


def terms(text: str, stop: frozenset[str] = frozenset()) -> set[str]:
    """The keywords of one text, and the phrases made of two adjacent keywords; ``stop``: more words to
    leave out (the platforms' own place names, which say where, not what)."""
    jieba = _jieba()
    words = [w.strip() for w in jieba.lcut(text)]  # type: ignore[attr-defined]
    out: set[str] = set()
    prev: str | None = None
    for w in words:
        if _keep(w) and w not in stop:
            out.add(w)
            if prev is not None:
                out.add(prev + w)
            prev = w
        else:
            prev = None  # a phrase is two keywords side by side
    return out


@dataclass(frozen=True)
class Rule:
    baseline_days: int = 14
    min_count: int = 5
    ratio: float = 3.0
    z_min: float = 4.0


@dataclass(frozen=True)
class Burst:
    term: str
    prefecture: str
    category: str
    count: int
    baseline: float
    z: float


def detect(
    today: Counter[tuple[str, str, str]], history: Sequence[Counter[tuple[str, str, str]]], rule: Rule
) -> list[Burst]:
    """Bursts of today's (term, prefecture, category) counts against the same key's counts on the days
    of ``history`` (one Counter per baseline day), strongest first."""
    n = len(history)
    out: list[Burst] = []
    for key, c in today.items():
        if c < rule.min_count:
            continue
        xs = [h.get(key, 0) for h in history]
        mean = sum(xs) / n if n else 0.0
        var = sum((x - mean) ** 2 for x in xs) / n if n else 0.0
        sd = math.sqrt(max(var, mean, 1.0))
        z = (c - mean) / sd
        if c >= rule.ratio * max(mean, 1.0) and z >= rule.z_min:
            out.append(Burst(key[0], key[1], key[2], c, round(mean, 2), round(z, 1)))
    return _prune(sorted(out, key=lambda b: (-b.z, -b.count, b.term)))


def _prune(bursts: list[Burst]) -> list[Burst]:
    """A phrase and its own words bursting together in one place: keep the phrase (more telling) unless
    a word bursts with more texts than the phrase."""
    by_place: dict[tuple[str, str], list[Burst]] = {}
    for b in bursts:
        by_place.setdefault((b.prefecture, b.category), []).append(b)
    drop: set[Burst] = set()
    for group in by_place.values():
        for b in group:
            for other in group:
                if other is not b and b.term in other.term and other.count >= b.count:
                    drop.add(b)
    return [b for b in bursts if b not in drop]


def count(
    docs: Iterable[tuple[str, str, str]], stop: frozenset[str] = frozenset()
) -> Counter[tuple[str, str, str]]:
    """Texts per (term, prefecture, category) from (text, prefecture, category) triples."""
    c: Counter[tuple[str, str, str]] = Counter()
    for text, pref, cat in docs:
        for t in terms(text, stop):
            c[(t, pref, cat)] += 1
    return c
