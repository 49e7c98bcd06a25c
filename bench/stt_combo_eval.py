"""Is a combination of Vosk and Whisper a clear win, or within noise of the best single engine?

Two sources of noise, both measured, never assumed:

- decoding noise: Kaldi dithers the audio before its features (Vosk's model keeps the default
  ``--dither=1``), so the same clip decoded twice in one process can give different text (a fresh
  process repeats the same sequence: rounds in fresh workers do not add draws). The worker decodes
  every clip ``draws`` times with each engine and scores each option per draw;
- sampling noise: the dev set is 8 clips (219 characters). A paired bootstrap over the clips (same
  resampled clips for both options) gives a 95 % interval of CER(option) - CER(best single engine).

Verdict ``wins`` only when the combination is better than the better single engine in every draw AND
the bootstrap interval lies wholly below zero; otherwise ``within noise`` and a single engine stays the
recommendation (the simplest that wins): Vosk (``auto``'s choice, loaded anyway for the live transcript)
unless Whisper beats it by the same rule. Options: ``vosk``, ``whisper``, ``pick`` (stt_engine=combo: the transcript
with the higher mean word confidence) and ``vote`` (character alignment, confidence vote).
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path
from statistics import fmean
from typing import Any

OPTIONS = ("vosk", "whisper", "pick", "vote")
SINGLE = ("vosk", "whisper")


def vote_text(v: Any, w: Any, null_conf: float = 0.5) -> str:
    """Character-level vote of two transcripts: align the characters (edit distance); where they differ
    keep the one whose word is more confident; a character only one side has is kept when its word's
    confidence exceeds ``null_conf``."""
    from recordings.textnorm import clean_transcript

    def chars(t: Any) -> list[tuple[str, float]]:
        return [
            (ch, wd.conf if wd.conf is not None else 0.5)
            for s in (t.segments if t else []) for wd in s.words for ch in wd.text
            if unicodedata.category(ch)[0] in "LN"
        ]  # fmt: skip

    a, b = chars(v), chars(w)
    n, m = len(a), len(b)
    d = [[i + j if not i * j else 0 for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1][0] != b[j - 1][0]))
    out, i, j = [], n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (a[i - 1][0] != b[j - 1][0]):
            x, y = a[i - 1], b[j - 1]
            out.append(x[0] if x[0] == y[0] or x[1] >= y[1] else y[0])
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            out.append(a[i - 1][0] if a[i - 1][1] > null_conf else "")
            i -= 1
        else:
            out.append(b[j - 1][0] if b[j - 1][1] > null_conf else "")
            j -= 1
    return clean_transcript("".join(reversed(out)))


def decode_draws(engine: Any, audio_dir: Path, refs: dict[str, str], draws: int) -> dict[str, Any]:
    """Worker side (a ComboEngine, models loaded): every clip decoded ``draws`` times by each engine;
    per draw and clip the character edits of each option. Not timed."""
    from recordings.stt.combo import combine
    from recordings.stt.metrics import cer_counts

    clips = sorted(refs)
    edits: dict[str, list[list[int]]] = {o: [] for o in OPTIONS}
    texts: dict[str, list[set[str]]] = {"vosk": [set() for _ in clips], "whisper": [set() for _ in clips]}
    chars = [cer_counts(refs[c], refs[c])[1] for c in clips]
    for _ in range(draws):
        row: dict[str, list[int]] = {o: [] for o in OPTIONS}
        for ci, clip in enumerate(clips):
            v, w = engine.transcribe_both(audio_dir / clip)
            texts["vosk"][ci].add(v.text)
            texts["whisper"][ci].add(w.text if w else "")
            for o, text in (("vosk", v.text), ("whisper", w.text if w else ""),
                            ("pick", combine(v, w).text), ("vote", vote_text(v, w))):  # fmt: skip
                row[o].append(cer_counts(refs[clip], text)[0])
        for o in OPTIONS:
            edits[o].append(row[o])
    return {
        "draws": draws, "clips": clips, "chars": chars, "edits": edits,
        "distinct_texts": {k: [len(s) for s in v] for k, v in texts.items()},
    }  # fmt: skip


def bootstrap_diff(
    a: list[float], b: list[float], chars: list[int], n: int = 10000, seed: int = 16
) -> tuple[float, float]:
    """95 % interval of CER(a) - CER(b) over clips resampled with replacement (paired: the same
    clips for both). ``a``/``b``: per-clip edits (mean over draws). Seeded: the same data, the same
    interval."""
    rng = random.Random(seed)
    k = len(chars)
    diffs = []
    for _ in range(n):
        idx = [rng.randrange(k) for _ in range(k)]
        c = sum(chars[i] for i in idx)
        diffs.append((sum(a[i] for i in idx) - sum(b[i] for i in idx)) / c)
    diffs.sort()
    return diffs[int(0.025 * n)], diffs[int(0.975 * n) - 1]


def analyse(ev: dict[str, Any]) -> dict[str, Any]:
    """CER of each option per draw (mean, min, max), the best single engine (lower mean CER), and for
    each combination the per-draw differences, the bootstrap interval and the verdict."""
    chars = ev["chars"]
    total = sum(chars)
    per_draw = {o: [sum(d) / total for d in ev["edits"][o]] for o in OPTIONS}
    stats = {o: {"mean": fmean(v), "min": min(v), "max": max(v), "per_draw": v} for o, v in per_draw.items()}
    best = min(SINGLE, key=lambda o: (stats[o]["mean"], o != "vosk"))
    per_clip = {o: [fmean(col) for col in zip(*ev["edits"][o], strict=True)] for o in OPTIONS}

    def versus(o: str, base: str) -> dict[str, Any]:
        diffs = [x - y for x, y in zip(per_draw[o], per_draw[base], strict=True)]
        lo, hi = bootstrap_diff(per_clip[o], per_clip[base], chars)
        wins = all(d < 0 for d in diffs) and hi < 0
        return {
            "against": base, "diff_mean": fmean(diffs), "diff_min": min(diffs), "diff_max": max(diffs),
            "bootstrap_95": (lo, hi), "verdict": "wins" if wins else "within noise",
        }  # fmt: skip

    # combinations against the better single engine; Whisper against Vosk (auto's engine, which the
    # live transcript needs loaded anyway: Whisper is recommended instead only when it wins outright)
    combos = {o: versus(o, best) for o in ("pick", "vote")} | {"whisper": versus("whisper", "vosk")}
    winners = [o for o in ("pick", "vote") if combos[o]["verdict"] == "wins"]
    single = "whisper" if combos["whisper"]["verdict"] == "wins" else "vosk"
    return {
        "draws": ev["draws"], "ref_chars": total, "stats": stats, "best_single": best, "combos": combos,
        "recommend": min(winners, key=lambda o: stats[o]["mean"]) if winners else single,
        "distinct_texts": ev.get("distinct_texts"),
    }  # fmt: skip


def markdown(a: dict[str, Any]) -> list[str]:
    """The combination section of bench/results/stt.md."""
    s, names = a["stats"], {
        "vosk": "Vosk alone", "whisper": "Whisper alone (word timestamps on)",
        "pick": "pick per clip by mean word confidence (stt_engine=combo)",
        "vote": "character-level alignment + confidence vote (bench only)",
    }  # fmt: skip
    lines = [
        "", f"## Combination: clear win or noise? ({a['draws']} decoding draws per clip, same worker)", "",
        f"{a['ref_chars']} reference characters: one character is {100 / a['ref_chars']:.2f} CER points. "
        "Vosk dithers its input (Kaldi default), so each draw is a different decoding of the same audio.",
        "", "| option | CER mean | min | max | against | mean diff (min..max per draw) | paired bootstrap 95 % | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for o in OPTIONS:
        c = a["combos"].get(o)
        extra = (
            f"{c['against']} | {c['diff_mean']:+.1%} ({c['diff_min']:+.1%}..{c['diff_max']:+.1%}) | "
            f"{c['bootstrap_95'][0]:+.1%}..{c['bootstrap_95'][1]:+.1%} | {c['verdict']}"
            if c
            else " | | | "
        )
        lines.append(f"| {names[o]} | {s[o]['mean']:.1%} | {s[o]['min']:.1%} | {s[o]['max']:.1%} | {extra} |")
    rec = a["recommend"]
    lines += ["", f"**Recommendation: {names.get(rec, rec)}** "
              + ("(a combination wins beyond both noises)." if rec not in SINGLE else
                 "(no combination wins beyond the decoding and sampling noise: the simplest that wins is "
                 "a single engine).")]  # fmt: skip
    if a.get("distinct_texts"):
        lines.append(f"Distinct transcripts per clip over the draws: {a['distinct_texts']}.")
    return lines
