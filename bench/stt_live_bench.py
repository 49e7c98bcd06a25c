"""Live transcript benchmark: words-to-update latency and how many concurrent calls one core sustains.

    .venv/bin/python bench/stt_live_bench.py [--calls 1 2 4 6 8] [--repeats 2] [--seconds 30]

Asterisk's part (ChanSpy on a UnicastRTP channel, docs/adr/2026-12-02-live-transcript.md) is played
by a sender process: the zh-dev 8 kHz clips joined, as RTP (slin, 20 ms packets, real-time pace) to
one recordings.stt.live.LiveSession per call, over 127.0.0.1. The sessions (receiver and recogniser
threads, the shared Vosk small Mandarin model) run in this process, pinned to ONE CPU.

- latency: for each word, (wall time the session emitted an update holding that word) - (wall time
  its audio had been sent, i.e. stream start + the word's end time). The WebSocket push to the page
  comes on top: bench/results/screenpop.txt measures that path (p50 10 ms, p99 66 ms).
- sustained: every call stayed available (never more than live_transcript_max_lag_s behind) and at the
  end no call was more than 1 s behind. The highest N sustained in every repeat is reported.
The machine is shared: the load average is recorded per trial; N values are interleaved across repeats.
Results: bench/results/stt_live.json and .md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import socket
import statistics
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from recordings.stt.live import LiveSession, LiveUpdate  # noqa: E402
from recordings.stt.locate import find_vosk_model, find_zh_dev, read_transcripts  # noqa: E402


def clip_pcm(seconds: float) -> bytes:
    """The 8 kHz dev clips joined (repeated) to ``seconds``: 16-bit little-endian mono."""
    zh = find_zh_dev()
    assert zh is not None, "shared audio/zh-dev not found"
    parts = []
    for clip in sorted(read_transcripts(zh / "transcripts.tsv")):
        with wave.open(str(zh / "8k" / clip)) as w:
            parts.append(w.readframes(w.getnframes()))
    pcm = b"".join(parts)
    need = int(seconds * 8000) * 2
    return (pcm * (need // len(pcm) + 1))[:need]


def sender(ports: list[int], seconds: float, start_at: float) -> None:
    """Real-time RTP (payload type 118 = slin) to every port, 20 ms per packet, all calls in step."""
    pcm = clip_pcm(seconds)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while time.time() < start_at:
        time.sleep(0.001)
    for seq, i in enumerate(range(0, len(pcm), 320)):
        b = bytearray(pcm[i : i + 320])
        b[0::2], b[1::2] = b[1::2], b[0::2]  # network byte order
        for n, port in enumerate(ports):
            hdr = bytes([0x80, 118]) + (seq & 0xFFFF).to_bytes(2, "big") + (seq * 160).to_bytes(4, "big")
            sock.sendto(hdr + n.to_bytes(4, "big") + bytes(b), ("127.0.0.1", port))
        delay = start_at + (seq + 1) * 0.02 - time.time()
        if delay > 0:
            time.sleep(delay)


def trial(
    model: Any, calls: int, seconds: float, max_lag_s: float, nice: int | None = None
) -> dict[str, Any]:
    lat: list[float] = []
    seen: list[set[tuple[str, float]]] = [set() for _ in range(calls)]
    lock = threading.Lock()
    start_at = time.time() + 1.0

    def listener(i: int) -> Any:
        def on(u: LiveUpdate) -> None:
            now = time.time()
            with lock:
                for w in u.words:
                    key = (w.get("word", ""), round(float(w.get("start", 0)), 1))
                    if key not in seen[i]:
                        seen[i].add(key)
                        lat.append(now - (start_at + float(w.get("end", 0))))

        return on

    sessions = [
        LiveSession(model, listener(i), max_lag_s=max_lag_s, idle_s=30, nice=nice).start()
        for i in range(calls)
    ]
    load_before = os.getloadavg()[0]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    p = mp.Process(target=sender, args=([s.port for s in sessions], seconds, start_at))
    p.start()
    p.join()
    time.sleep(0.5)
    behind = [round(s.received_s - s.processed_s, 2) for s in sessions]
    statuses = [s.status for s in sessions]
    for s in sessions:
        s.stop()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    ok = all(st != "unavailable" for st in statuses) and max(behind) <= 1.0
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
    return {
        "calls": calls, "seconds": seconds, "sustained": ok, "behind_s": behind,
        "unavailable": statuses.count("unavailable"), "words": len(lat),
        "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
        "latency_p99_s": round(q[98], 3) if lat else None,
        "cpu_s_per_audio_s": round(cpu / (seconds * calls), 3),
        "loadavg_before": round(load_before, 2), "loadavg_after": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def cpu_per_audio_s(model: Any, seconds: float = 30.0) -> float:
    """CPU seconds one streaming recogniser spends per audio second, audio fed as fast as it goes in
    20 ms packets with a partial result every 0.25 s of audio (as a LiveSession does). CPU time is
    far less sensitive than wall time to other jobs: 1 / this = the calls one free core could carry."""
    from vosk import KaldiRecognizer

    pcm = clip_pcm(seconds)
    rec = KaldiRecognizer(model, 8000.0)
    rec.SetWords(True)
    rec.SetPartialWords(True)
    c0 = time.process_time()
    for n, i in enumerate(range(0, len(pcm), 320)):
        if rec.AcceptWaveform(pcm[i : i + 320]):
            rec.Result()
        elif n % 12 == 0:
            rec.PartialResult()
    rec.FinalResult()
    return (time.process_time() - c0) / seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4, 6, 8])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--max-lag", type=float, default=3.0, help="live_transcript_max_lag_s (default 3)")
    ap.add_argument(
        "--cpu", type=int, default=None, help="CPU to pin to (default: the last one; -1: no pinning)"
    )
    ap.add_argument("--name", default="stt_live", help="result file name (default stt_live)")
    ap.add_argument(
        "--nice", type=int, default=-5, help="recogniser thread nice, as live_transcript_nice (default -5)"
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    a = ap.parse_args()
    model_dir = find_vosk_model()
    if model_dir is None or find_zh_dev() is None:
        print("Vosk Mandarin model or zh-dev clips not found (HOTLINE_SHARED_DIR)", file=sys.stderr)
        return 2
    cpu = a.cpu if a.cpu is not None else max(os.sched_getaffinity(0))
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
    from tqdm import tqdm

    from recordings.stt.vosk_engine import VoskEngine

    t0 = time.perf_counter()
    model = VoskEngine(model_dir).load()
    load_s = time.perf_counter() - t0
    rss_model_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_costs = [round(cpu_per_audio_s(model), 4) for _ in range(3)]
    cpu_cost = statistics.median(cpu_costs)
    trials = []
    plan = [n for _ in range(a.repeats) for n in a.calls]  # interleaved: 1 2 4 .., 1 2 4 ..
    for n in tqdm(plan, desc="live trials", unit="trial", file=sys.stderr):
        trials.append(trial(model, n, a.seconds, a.max_lag, a.nice))
    by_n = {n: [t for t in trials if t["calls"] == n] for n in a.calls}
    held = [n for n, ts in by_n.items() if all(t["sustained"] for t in ts)]

    def med(vals: Any) -> float | None:
        v = [x for x in vals if x is not None]
        return round(statistics.median(v), 3) if v else None

    summary = {
        n: {
            "sustained_every_repeat": all(t["sustained"] for t in ts),
            "latency_p50_s": med(t["latency_p50_s"] for t in ts),
            "latency_p99_s": med(t["latency_p99_s"] for t in ts),
            "cpu_s_per_audio_s": med(t["cpu_s_per_audio_s"] for t in ts),
            "loadavg": [t["loadavg_before"] for t in ts],
        }
        for n, ts in by_n.items()
    }  # fmt: skip
    meta = {
        "command": " ".join(["python", "bench/stt_live_bench.py", *sys.argv[1:]]), "pinned_cpu": cpu,
        "cpus": os.cpu_count(), "model": str(model_dir), "model_load_s": round(load_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_model_load_mb": round(rss_model_mb, 1),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "max_lag_s": a.max_lag,
        "max_calls_sustained_one_core": max(held) if held else 0,
        "stream_cpu_s_per_audio_s": cpu_cost, "stream_cpu_s_per_audio_s_all": cpu_costs,
        "calls_per_free_core_from_cpu_time": round(1 / cpu_cost, 1),
        "loadavg_start": os.getloadavg()[0],
    }  # fmt: skip
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / f"{a.name}.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "trials": trials}, indent=1)
    )
    lines = [
        "# Live transcript benchmark (Vosk small Mandarin, streaming, 8 kHz RTP over loopback)", "",
        f"Command: `{meta['command']}`; {meta['date']}; {meta['cpus']} CPUs, "
        + (f"recognisers pinned to CPU {cpu}; " if cpu >= 0 else "not pinned; ")
        +
        f"model load {meta['model_load_s']} s, peak RSS {meta['peak_rss_mb']:.0f} MB "
        f"({meta['rss_after_model_load_mb']:.0f} MB after loading the model); max lag {a.max_lag} s; "
        f"recogniser nice {a.nice}.", "",
        "Latency = a word's update emitted - its audio sent (the WebSocket push to the page adds p50 10 ms /",
        "p99 66 ms, bench/results/screenpop.txt). Medians over the repeats; load average before each trial.", "",
        f"**Concurrent live calls one (shared) core sustained in real time in every repeat: "
        f"{meta['max_calls_sustained_one_core']}**", "",
        f"Streaming recogniser CPU cost: {cpu_cost:.3f} CPU s per audio s (median of {cpu_costs}), so one "
        f"free core carries about **{1 / cpu_cost:.1f} calls** (1 / cost; the real-time trials below show "
        "what the core actually held with the other jobs on it).", "",
        "| calls | sustained every repeat | latency p50 s | latency p99 s | CPU s / audio s | load avg per repeat |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for n, s in summary.items():
        lines.append(f"| {n} | {'yes' if s['sustained_every_repeat'] else 'NO'} | {s['latency_p50_s']} | "
                     f"{s['latency_p99_s']} | {s['cpu_s_per_audio_s']} | {s['loadavg']} |")  # fmt: skip
    lines += [
        "",
        "| trial | calls | sustained | behind s (per call) | words | p50 | p99 | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, t in enumerate(trials, 1):
        lines.append(f"| {i} | {t['calls']} | {t['sustained']} | {t['behind_s']} | {t['words']} | "
                     f"{t['latency_p50_s']} | {t['latency_p99_s']} | {t['loadavg_before']} |")  # fmt: skip
    (a.out / f"{a.name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
