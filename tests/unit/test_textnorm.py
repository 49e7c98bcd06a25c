"""recordings.textnorm: Traditional -> Simplified, conservative spoken-number normalisation, tidy."""

from __future__ import annotations

import pytest

from recordings.textnorm import clean_transcript, cn_to_int, normalise_numbers, tidy, to_simplified


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("我的电话是幺三九八七一一二三四五", "我的电话是13987112345"),
        ("请拨打幺二三四五热线", "请拨打12345热线"),
        ("报警打幺幺零", "报警打110"),
        ("一三九八七一一二三四五", "13987112345"),
        ("罚了三百五十元", "罚了350元"),
        ("一千二百元", "1200元"),
        ("三百五块钱", "350块钱"),
        ("一万零五百元", "10500元"),
        ("补贴两万元", "补贴2万元"),
        ("三点五万元", "3.5万元"),
        ("下午三点半", "下午3:30"),
        ("八点十五分", "8:15"),
        ("八点零五分", "8:05"),
        ("明天上午九点一刻", "明天上午9:15"),
        ("晚上八点", "晚上8点"),
        ("下午3点半", "下午3:30"),
        ("早晨七点半到九点半", "早晨7:30到9:30"),
        ("十二点整", "12点整"),
        ("十一月二十六号", "11月26号"),
        ("三月八日", "3月8日"),
        ("二零二四年十一月二十六号上午九点", "2024年11月26号上午9点"),
    ],
)
def test_spoken_numbers_become_digits(spoken: str, written: str) -> None:
    assert normalise_numbers(spoken) == written


@pytest.mark.parametrize(
    "text",
    [
        "一般来说",
        "有一些问题",
        "请等一下",
        "这件事十分重要",
        "万一出了事怎么办",
        "快一点",
        "有一点点吵",
        "差一点就迟到了",
        "我们一起去",
        "一块去吧",
        "三块蛋糕",
        "一元化管理",
        "元旦放假",
        "三点五公里",
        "百分之三十",
        "第一天",
        "一五一十地说",
        "三三两两",
        "十分钟以后",
    ],
)
def test_idioms_and_ambiguous_numbers_untouched(text: str) -> None:
    assert normalise_numbers(text) == text


@pytest.mark.parametrize(
    ("s", "n"),
    [("十五", 15), ("二十六", 26), ("三百五十", 350), ("三百五", 350), ("一千二", 1200), ("两万", 20000),
     ("一万零五百", 10500), ("三万五", 35000), ("二零二四", 2024), ("一百零八", 108)],
)  # fmt: skip
def test_cn_to_int(s: str, n: int) -> None:
    assert cn_to_int(s) == n


def test_traditional_to_simplified() -> None:
    assert to_simplified("這並不是告別，這是一個篇章的結束") == "这并不是告别，这是一个篇章的结束"
    assert to_simplified("喜歡攀岩、徒步、滑雪的語言愛好者") == "喜欢攀岩、徒步、滑雪的语言爱好者"
    assert to_simplified("") == ""
    assert to_simplified("已经是简体 ok 123") == "已经是简体 ok 123"


def test_tidy_spacing_and_punctuation() -> None:
    assert tidy("  周一到周五 每天早晨  ") == "周一到周五每天早晨"
    assert tidy("我有点说不清楚,你们知道吗?") == "我有点说不清楚，你们知道吗？"
    assert tidy("电话 139 8711 2345") == "电话139 8711 2345"
    assert tidy("안녕 하세요") == "안녕 하세요"  # spaces between non-Chinese words are kept
    assert tidy("时间是3:30") == "时间是3:30"


def test_clean_transcript_combines_everything() -> None:
    raw = "我的電話是 幺三九八七一一二三四五,明天下午三點半來,罰款三百五十元。"
    assert clean_transcript(raw) == "我的电话是13987112345，明天下午3:30来，罚款350元。"
