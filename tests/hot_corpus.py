"""A generated corpus of case texts for the hot-topic tests and bench/report_bench.py: everyday
complaints in three prefectures over several days, each place with its own usual mix (Kunming's old
pipes make 停水 an everyday matter there), with Poisson-like day-to-day noise from a seeded generator,
and bursts planted on the last day when asked."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: (category, text template, per-prefecture daily mean): the usual matters
USUAL: list[tuple[str, str, dict[str, float]]] = [
    ("01", "{p}某小区停水，没有提前通知，居民生活用水困难", {"kunming": 8, "dali": 0.3, "qujing": 0.3}),
    ("01", "{p}某小区物业管理混乱，楼道垃圾无人清理", {"kunming": 6, "dali": 4, "qujing": 3}),
    ("01", "{p}某路段路灯不亮，夜间出行不安全", {"kunming": 3, "dali": 2, "qujing": 2}),
    ("03", "{p}某工地夜间施工噪音扰民，影响休息", {"kunming": 10, "dali": 3, "qujing": 4}),
    ("03", "{p}某餐馆油烟污染严重，周边居民无法开窗", {"kunming": 4, "dali": 2, "qujing": 2}),
    ("02", "{p}公交线路调整后班次减少，候车时间过长", {"kunming": 5, "dali": 1, "qujing": 2}),
    ("02", "{p}某路口交通信号灯故障，车辆拥堵", {"kunming": 3, "dali": 1, "qujing": 1}),
    ("04", "咨询{p}医保异地报销的办理流程和所需材料", {"kunming": 7, "dali": 3, "qujing": 3}),
    ("04", "咨询{p}社保卡补办需要哪些材料", {"kunming": 5, "dali": 2, "qujing": 2}),
    ("04", "{p}某公司拖欠农民工工资，多次讨要未果", {"kunming": 3, "dali": 1, "qujing": 2}),
    ("08", "{p}某景区门票价格与公示不符，游客质疑乱收费", {"kunming": 1, "dali": 5, "qujing": 0.3}),
]
#: planted on the last day: (prefecture, category, text, how many)
PLANTED: list[tuple[str, str, str, int]] = [
    ("qujing", "01", "曲靖麒麟区某街道大面积停水，自来水管道爆裂，至今未恢复供水", 14),
    ("dali", "03", "大理古城某客栈排放污水，洱海边出现死鱼，气味刺鼻", 9),
]
NAMES = {"kunming": "昆明五华区", "dali": "大理", "qujing": "曲靖"}


@dataclass(frozen=True)
class Doc:
    day: int  # 0 … days-1; the last day is "today"
    prefecture: str
    category: str
    text: str


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def corpus(days: int = 15, *, planted: bool, seed: int = 12345, scale: float = 1.0) -> list[Doc]:
    rng = random.Random(seed)
    docs: list[Doc] = []
    for d in range(days):
        for cat, template, means in USUAL:
            for pref, mean in means.items():
                for _ in range(_poisson(rng, mean * scale)):
                    docs.append(Doc(d, pref, cat, template.format(p=NAMES[pref])))
        if planted and d == days - 1:
            for pref, cat, text, n in PLANTED:
                docs += [Doc(d, pref, cat, text)] * n
    return docs
