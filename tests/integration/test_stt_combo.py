"""stt_engine = combo on the zh-dev clips at 8 kHz: the more confident of Vosk and Whisper per clip
beats each engine alone overall (in the same run; median 10.1 % vs 11.4 % / 11.4 %, spread 5.9-11.0 %,
bench/results/stt-2026-12-02-vosk-combo.md)."""

from __future__ import annotations

import pytest

from recordings.stt import make_engine
from recordings.stt.combo import ComboEngine, combine
from recordings.stt.locate import find_zh_dev, read_transcripts
from recordings.stt.metrics import cer_counts

ZH_DEV = find_zh_dev()
pytestmark = pytest.mark.needs("models", "audio")  # missing: a failure (tests/resources.py)


def test_combo_beats_each_engine_alone() -> None:
    assert ZH_DEV is not None
    engine = make_engine("combo")
    assert isinstance(engine, ComboEngine)
    refs = read_transcripts(ZH_DEV / "transcripts.tsv")
    edits = {"vosk": 0, "whisper": 0, "combo": 0}
    chars, lines = 0, []
    for clip, ref in sorted(refs.items()):
        v, w = engine.transcribe_both(ZH_DEV / "8k" / clip)
        assert w is not None
        combo = combine(v, w)  # what engine.transcribe returns
        assert combo.engine == "combo" and combo.text in (v.text, w.text) and combo.sample_rate == 8000
        for name, text in (("vosk", v.text), ("whisper", w.text), ("combo", combo.text)):
            e, n = cer_counts(ref, text)
            edits[name] += e
        chars += n
        lines.append(f"{clip}: {combo.model}: {combo.text}")
    rates = {k: e / chars for k, e in edits.items()}
    report = f"{rates}\n" + "\n".join(lines)
    print(report)
    assert rates["combo"] < min(rates["vosk"], rates["whisper"]), report
    assert rates["combo"] < 0.11, report
