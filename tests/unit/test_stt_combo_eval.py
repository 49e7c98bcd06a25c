"""The rule that decides whether a Vosk+Whisper combination is shipped as the recommendation
(bench/stt_combo_eval.py): a gain must hold in every decoding draw and beyond the clip-sampling noise,
else the single engine stays. Synthetic per-clip edit counts; the real figures are in bench/results."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from stt_combo_eval import analyse, bootstrap_diff, markdown  # noqa: E402

CHARS = [14, 13, 14, 30, 23, 27, 39, 32]  # the zh-dev clips' reference lengths (192 here)


def ev(vosk: list[list[int]], whisper: list[list[int]], pick: list[list[int]], vote: list[list[int]]) -> dict:
    return {"draws": len(vosk), "clips": [f"c{i}" for i in range(8)], "chars": CHARS,
            "edits": {"vosk": vosk, "whisper": whisper, "pick": pick, "vote": vote}}  # fmt: skip


def test_a_gain_of_one_clip_is_noise_and_vosk_stays() -> None:
    vosk = [[3, 0, 7, 3, 0, 6, 2, 3], [5, 0, 9, 3, 0, 10, 2, 3]]  # dither: draws differ
    whisper = [[1, 1, 0, 2, 2, 2, 7, 8]] * 2
    pick = [[1, 1, 0, 2, 2, 2, 7, 7]] * 2  # one character better than Whisper, on one clip
    a = analyse(ev(vosk, whisper, pick, vosk))
    assert a["best_single"] == "whisper"  # 23 and 23 edits vs 24 and 32
    assert a["combos"]["pick"]["diff_max"] < 0  # better than Whisper in every draw ...
    assert a["combos"]["pick"]["verdict"] == "within noise"  # ... but not beyond the clip sampling
    assert a["combos"]["whisper"]["verdict"] == "within noise"
    assert a["recommend"] == "vosk"
    text = "\n".join(markdown(a))
    assert "**Recommendation: Vosk alone**" in text and "within noise" in text


def test_a_gain_on_every_clip_in_every_draw_wins() -> None:
    vosk = [[4, 3, 5, 6, 5, 6, 7, 6], [5, 3, 5, 7, 5, 6, 8, 6]]
    whisper = [[4, 4, 4, 6, 6, 6, 7, 7]] * 2
    vote = [[1, 1, 1, 2, 1, 2, 2, 2], [1, 1, 2, 2, 1, 2, 3, 2]]
    a = analyse(ev(vosk, whisper, vosk, vote))
    assert a["combos"]["vote"]["verdict"] == "wins" and a["combos"]["vote"]["bootstrap_95"][1] < 0
    assert a["combos"]["pick"]["verdict"] == "within noise"  # identical to Vosk: no gain at all
    assert a["recommend"] == "vote"


def test_whisper_replaces_vosk_only_when_it_wins_outright() -> None:
    vosk = [[6, 5, 6, 9, 8, 9, 10, 9]] * 3
    whisper = [[1, 1, 1, 2, 2, 2, 3, 2]] * 3
    a = analyse(ev(vosk, whisper, whisper, whisper))
    assert a["combos"]["whisper"]["verdict"] == "wins" and a["recommend"] == "whisper"


def test_bootstrap_is_paired_and_seeded() -> None:
    same = [float(x) for x in [3, 0, 7, 3, 0, 6, 2, 3]]
    assert bootstrap_diff(same, same, CHARS) == (0.0, 0.0)
    better = [x - 1 for x in same]
    lo, hi = bootstrap_diff(better, same, CHARS)
    assert lo < hi < 0 and (lo, hi) == bootstrap_diff(better, same, CHARS)
