"""Character error rate for Chinese transcripts."""

from __future__ import annotations

import unicodedata

from recordings.textnorm import clean_transcript, to_simplified


def scoring_text(text: str, itn: bool = True) -> str:
    """Text as scored: Simplified (and, with ``itn``, numbers normalised like engine output),
    punctuation, symbols and whitespace removed."""
    t = clean_transcript(text) if itn else to_simplified(text)
    return "".join(ch for ch in t if unicodedata.category(ch)[0] in "LN")


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def cer_counts(ref: str, hyp: str, itn: bool = True) -> tuple[int, int]:
    """(character edits, reference characters) after :func:`scoring_text` on both sides."""
    r, h = scoring_text(ref, itn), scoring_text(hyp, itn)
    return edit_distance(r, h), len(r)


def cer(ref: str, hyp: str, itn: bool = True) -> float:
    edits, n = cer_counts(ref, hyp, itn)
    return edits / n if n else float(bool(hyp))
