"""stt_engine = combo on the zh-dev clips at 8 kHz: per clip the more confident of Vosk's and Whisper's
transcripts, never worse overall than the better engine alone and within the 12 % target.

Vosk's text varies from decoding to decoding (Kaldi dithers), so what earlier tests in the same process
decoded changes this run's draw. bench/results/stt.md measured 5 draws: combo 5.9-6.8 %, Vosk
10.5-12.3 %, Whisper 11.0 %; an earlier run saw combo up to 11.0 % when two confidences within 0.005
flipped. The assertions hold over all of those; the margin is not asserted (a gain within the
clip-sampling noise, see the bench)."""

from __future__ import annotations

import pytest

from recordings.stt import make_engine
from recordings.stt.combo import ComboEngine, combine, mean_confidence
from recordings.stt.locate import find_zh_dev, read_transcripts
from recordings.stt.metrics import cer_counts

ZH_DEV = find_zh_dev()
pytestmark = pytest.mark.needs("models", "audio")  # missing: a failure (tests/resources.py)


def test_combo_keeps_the_more_confident_transcript_and_is_never_worse_than_the_better_engine() -> None:
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
        cv, cw = mean_confidence(v), mean_confidence(w)
        assert cv is not None and cw is not None, clip  # both engines give word confidences
        assert combo.text == (v.text if cv >= cw else w.text), clip  # the more confident one
        for name, text in (("vosk", v.text), ("whisper", w.text), ("combo", combo.text)):
            e, n = cer_counts(ref, text)
            edits[name] += e
        chars += n
        lines.append(f"{clip}: {combo.model}: {combo.text}")
    rates = {k: e / chars for k, e in edits.items()}
    report = f"{rates}\n" + "\n".join(lines)
    print(report)
    assert edits["combo"] <= min(edits["vosk"], edits["whisper"]), report
    assert rates["combo"] <= 0.12, report
