"""Hot-topic bursts on generated corpora: the planted bursts are found in their own prefecture and
category, an everyday term that is frequent somewhere is no burst there, and a corpus without bursts
yields none."""

from __future__ import annotations

from collections import Counter

from app.reports import hot
from tests.hot_corpus import corpus


def _bursts(planted: bool, seed: int) -> list[hot.Burst]:
    docs = corpus(15, planted=planted, seed=seed)
    days: list[Counter[tuple[str, str, str]]] = [
        hot.count((d.text, d.prefecture, d.category) for d in docs if d.day == i) for i in range(15)
    ]
    return hot.detect(days[-1], days[:-1], hot.Rule(baseline_days=14))


def test_terms_are_words_and_phrases_without_stop_words():
    t = hot.terms("市民反映某小区停水，希望尽快恢复供水")
    assert {"停水", "小区", "小区停水", "供水"} <= t  # words, and two side by side as a phrase
    assert not t & {"市民", "反映", "希望", "尽快", "，"}


def test_planted_bursts_are_found_in_their_own_place():
    for seed in (1, 2, 3):
        bursts = _bursts(True, seed)
        places = {(b.prefecture, b.category) for b in bursts}
        assert places == {("qujing", "01"), ("dali", "03")}, bursts
        qujing = [b.term for b in bursts if b.prefecture == "qujing"]
        assert any("停水" in t for t in qujing), qujing
        assert any("死鱼" in t or "污水" in t for t in (b.term for b in bursts if b.prefecture == "dali"))
        # Kunming has 停水 every day (mean 8): the same word there is no burst
        assert not [b for b in bursts if b.prefecture == "kunming"]
        assert all(b.count >= 9 and b.z >= 4 for b in bursts)


def test_no_burst_is_invented_without_one():
    for seed in range(1, 11):
        assert _bursts(False, seed) == [], seed


def test_a_few_texts_where_nothing_was_before_are_no_burst():
    today = Counter({("停电", "dali", "01"): 4})  # below min_count, however new
    assert hot.detect(today, [Counter()] * 14, hot.Rule()) == []
    today = Counter({("停电", "dali", "01"): 5})
    assert [b.term for b in hot.detect(today, [Counter()] * 14, hot.Rule())] == ["停电"]
