"""Offline speech-to-text benchmark: CER, real-time factor, peak memory, model load time.

    .venv/bin/python bench/stt_bench.py [--repeats 2] [--only whisper-int8-8k ...]

Each configuration runs in its own subprocess (so peak RSS is that engine's alone) over the shared
zh-dev clips, plus one ~59 s "long voicemail" made by joining the 8 kHz clips (RTF on realistic
lengths: Whisper pads every window to 30 s, which penalises short clips). Results go to
bench/results/stt.json and bench/results/stt.md.

CER = character edits / reference characters, after removing punctuation and spaces. Two variants:
``cer`` passes both sides through clean_transcript (Simplified + the same number normalisation the
engines apply, so 七点半 and 7:30 compare equal); ``cer_t2s`` passes both through to_simplified only.
The Vosk row is Alpha Cephei's small Mandarin model (vosk-model-small-cn-0.22), one decoding thread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stt_bench_report import cpu_name, median_of, to_markdown, versions  # noqa: E402
from stt_combo_eval import decode_draws  # noqa: E402

from recordings.stt.locate import (  # noqa: E402
    find_vosk_model,
    find_whisper_model,
    find_zh_dev,
    read_transcripts,
)

CONFIGS: dict[str, dict[str, Any]] = {
    "whisper-int8-8k": {"engine": "whisper", "compute_type": "int8", "audio": "8k", "scored": True},
    "whisper-int8-16k": {"engine": "whisper", "compute_type": "int8", "audio": "16k", "scored": True},
    "whisper-float32-8k": {"engine": "whisper", "compute_type": "float32", "audio": "8k", "scored": True},
    "vosk-cn-8k": {"engine": "vosk", "audio": "8k", "scored": True},
    # stt_engine=combo: both engines, the transcript with the higher mean word confidence (Whisper with
    # word timestamps for its probabilities); the row also decodes every clip --draws times with both
    # engines to tell a real gain from noise (bench/stt_combo_eval.py), including a character vote.
    "combo-8k": {"engine": "combo", "audio": "8k", "scored": True},
}
# Tuning variants of whisper-int8-8k (one run per clip, no long file). "opts" go to WhisperEngine.
_W8 = {"engine": "whisper", "compute_type": "int8", "audio": "8k", "scored": True, "tuning": True}
TUNING: dict[str, dict[str, Any]] = {
    "no-normalise": {**_W8, "opts": {"target_dbfs": None}},
    "beam1": {**_W8, "opts": {"beam_size": 1}},
    "beam3": {**_W8, "opts": {"beam_size": 3}},
    "beam8": {**_W8, "opts": {"beam_size": 8}},
    "temperature0-no-fallback": {**_W8, "opts": {"temperature": 0.0}},
    "prompt-putonghua": {**_W8, "opts": {"initial_prompt": "以下是普通话的句子。"}},
    "prompt-hotline": {**_W8, "opts": {"initial_prompt": "您好，这里是12345政务服务便民热线。"}},
    "sox-upsampled-16k": {**_W8, "audio": "8k-sox16k"},
    "word-timestamps": {**_W8, "opts": {"word_timestamps": True}},
    "no-vad-filter": {**_W8, "opts": {"vad_filter": False}},
}
CONFIGS.update({f"tune-{k}": v for k, v in TUNING.items()})
MAIN = [k for k, v in CONFIGS.items() if not v.get("tuning")]


def join_wavs(files: list[Path], out: Path) -> Path:
    with wave.open(str(out), "wb") as w:
        for i, f in enumerate(files):
            with wave.open(str(f), "rb") as r:
                if i == 0:
                    w.setparams(r.getparams())
                w.writeframes(r.readframes(r.getnframes()))
    return out


def worker(name: str, repeats: int, threads: int, draws: int = 5) -> dict[str, Any]:
    import psutil

    from recordings.stt.metrics import cer_counts
    from recordings.stt.vosk_engine import VoskEngine
    from recordings.stt.whisper_engine import WhisperEngine

    cfg = CONFIGS[name]
    zh_dev = find_zh_dev()
    assert zh_dev is not None, "shared/audio/zh-dev not found"
    audio_dir = zh_dev if cfg["audio"] == "16k" else zh_dev / "8k"
    refs = read_transcripts(zh_dev / "transcripts.tsv")
    tmp = tempfile.TemporaryDirectory()
    if cfg["audio"] == "8k-sox16k":  # upsampling ourselves (sox, very high quality), not timed
        for clip in refs:
            subprocess.run(["sox", "-D", str(audio_dir / clip), "-r", "16000", str(Path(tmp.name) / clip), "rate", "-v"],
                           check=True)  # fmt: skip
        audio_dir = Path(tmp.name)
    rss_before = psutil.Process().memory_info().rss
    engine: Any
    if cfg["engine"] == "whisper":
        model = find_whisper_model()
        engine = WhisperEngine(
            model or "", threads=threads, compute_type=cfg["compute_type"], **cfg.get("opts", {})
        )
    elif cfg["engine"] == "combo":
        from recordings.stt.combo import ComboEngine

        model = f"{find_vosk_model()} + {find_whisper_model()}"
        engine = ComboEngine(
            VoskEngine(find_vosk_model() or ""), WhisperEngine(find_whisper_model() or "", threads=threads)
        )
    else:
        model = find_vosk_model()
        engine = VoskEngine(model or "")
    t0 = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - t0
    engine.transcribe(audio_dir / sorted(refs)[0])  # warm-up (first-call allocations), not scored

    def cpu_s() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this worker
        return ru.ru_utime + ru.ru_stime

    cpu_total = 0.0

    def timed(path: Path) -> tuple[Any, float]:
        nonlocal cpu_total
        runs, cpus = [], []
        for _ in range(repeats):
            c0 = cpu_s()
            runs.append(engine.transcribe(path))
            cpus.append(cpu_s() - c0)
        cpu_total += min(cpus)
        return runs[0], min(r.process_seconds for r in runs)

    clips, edits, edits_t2s, chars, proc, dur = [], 0, 0, 0, 0.0, 0.0
    for clip in sorted(refs):
        t, p = timed(audio_dir / clip)
        row: dict[str, Any] = {"clip": clip, "audio_s": t.audio_seconds, "process_s": round(p, 3),
                               "rtf": round(p / t.audio_seconds, 3), "sample_rate": t.sample_rate,
                               "text": t.text, "ref": refs[clip]}  # fmt: skip
        proc, dur = proc + p, dur + t.audio_seconds
        if cfg["engine"] == "combo":
            row.update(picked=t.model)
        if cfg["scored"]:
            e, n = cer_counts(refs[clip], t.text)
            e2, _ = cer_counts(refs[clip], t.text, itn=False)
            edits, edits_t2s, chars = edits + e, edits_t2s + e2, chars + n
            row.update(cer=round(e / n, 4), cer_t2s=round(e2 / n, 4))
        else:
            row.update(cer=None, cer_t2s=None)
        clips.append(row)
    lt, lp = None, 0.0
    if not cfg.get("tuning"):
        lt, lp = timed(join_wavs([audio_dir / c for c in sorted(refs)], Path(tmp.name) / "long.wav"))
    draws_ev = decode_draws(engine, audio_dir, refs, draws) if cfg["engine"] == "combo" and draws else None
    tmp.cleanup()
    return {
        "config": name, **cfg, "model": str(model), "threads": threads, "repeats": repeats,
        "load_s": round(load_s, 3), "audio_s": round(dur, 3), "process_s": round(proc, 3),
        "rtf": round(proc / dur, 4),
        "cpu_s_per_audio_s": round(cpu_total / (dur + (lt.audio_seconds if lt else 0)), 4),
        "long_audio_s": lt and lt.audio_seconds, "long_rtf": lt and round(lp / lt.audio_seconds, 4),
        "ref_chars": chars,
        "combo_draws": draws_ev,
        "cer": round(edits / chars, 4) if cfg["scored"] else None,
        "cer_t2s": round(edits_t2s / chars, 4) if cfg["scored"] else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_load_mb": round(rss_before / 2**20, 1), "clips": clips,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=list(CONFIGS), help="configs to run (default: all)")
    ap.add_argument("--no-tuning", action="store_true", help="skip the Whisper tuning variants")
    ap.add_argument("--repeats", type=int, default=2, help="runs per clip; the fastest is kept (default 2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; medians are reported (default 1)"
    )
    ap.add_argument(
        "--draws", type=int, default=5,
        help="combo-8k: decodings per clip and engine to measure noise, first round only (default 5)",
    )  # fmt: skip
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    ap.add_argument("--worker", choices=list(CONFIGS), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.repeats, a.threads, a.draws), ensure_ascii=False))
        return 0
    if find_zh_dev() is None or find_whisper_model() is None:
        print(
            "shared zh-dev audio or faster-whisper-base model not found (HOTLINE_SHARED_DIR)", file=sys.stderr
        )
        return 2
    meta = {
        "command": " ".join(["python", "bench/stt_bench.py", *sys.argv[1:]]),
        "cpus": os.cpu_count(), "cpu": cpu_name(),
        "python": platform.python_version(), "versions": versions(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }  # fmt: skip
    names = a.only or (MAIN if a.no_tuning else list(CONFIGS))
    rounds: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    meta["loadavg_per_round"] = []
    for rnd in range(a.rounds):  # interleaved: A B C, A B C, ... so machine noise hits every config alike
        for name in names:
            print(f"round {rnd + 1}/{a.rounds}: running {name} ...", file=sys.stderr, flush=True)
            # draws only in the first round: a fresh worker repeats Kaldi's dither sequence exactly
            cmd = [sys.executable, __file__, "--worker", name, "--repeats", str(a.repeats),
                   "--threads", str(a.threads), "--draws", str(a.draws if rnd == 0 else 0)]  # fmt: skip
            load_1m = round(os.getloadavg()[0], 2)
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            if p.returncode != 0:
                rounds[name].append(
                    {"config": name, "error": (p.stderr.strip().splitlines() or ["failed"])[-1]}
                )
                continue
            rounds[name].append(json.loads(p.stdout.strip().splitlines()[-1]) | {"loadavg_1m": load_1m})
        meta["loadavg_per_round"].append(" ".join(f"{x:.2f}" for x in os.getloadavg()))
    results = [median_of(runs) for runs in rounds.values()]
    meta["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "stt.json").write_text(
        json.dumps({"meta": meta, "results": results}, ensure_ascii=False, indent=1)
    )
    md = to_markdown(meta, results, CONFIGS)
    (a.out / "stt.md").write_text(md, encoding="utf-8")
    print(md.split("\n## ")[0])
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
