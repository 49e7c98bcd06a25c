"""Markdown and medians of bench/stt_bench.py results (bench/results/stt.md)."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from stt_combo_eval import analyse
from stt_combo_eval import markdown as combo_markdown

TARGET_CER, TARGET_RTF = 0.12, 0.15


MEDIAN_KEYS = ("rtf", "long_rtf", "cpu_s_per_audio_s", "load_s", "peak_rss_mb", "process_s", "cer", "cer_t2s")


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first good run's details with the median of each number over all good runs."""
    import statistics

    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    out = dict(good[0], rounds=len(good))
    for k in MEDIAN_KEYS:
        vals = [r[k] for r in good if r.get(k) is not None]
        if vals:
            out[k] = round(statistics.median(vals), 4)
            out[f"{k}_all"] = vals
    out["loadavg_1m_all"] = [r["loadavg_1m"] for r in good if "loadavg_1m" in r]
    if not out.get("combo_draws"):  # decoded in the first round only (bench/stt_combo_eval.py)
        out["combo_draws"] = next((r["combo_draws"] for r in good if r.get("combo_draws")), None)
    return out


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def to_markdown(meta: dict[str, Any], results: list[dict[str, Any]], configs: dict[str, Any]) -> str:
    main = [r for r in results if not configs[r["config"]].get("tuning")]
    tuning = [r for r in results if configs[r["config"]].get("tuning")]
    nref = max((r.get("ref_chars", 0) for r in results), default=0)
    lines = [
        "# Offline STT benchmark (zh-dev clips)",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['cpus']} CPUs ({meta['cpu']}), load average {meta['loadavg_before']} before / "
        f"{meta['loadavg_after']} after, per round {meta.get('loadavg_per_round')} (other jobs share this machine: "
        "RTF is wall-clock and includes that); numbers are medians over interleaved rounds; "
        f"Python {meta['python']}; {meta['versions']}; {meta['date']}",
        "",
        f"Targets: CER <= {TARGET_CER:.0%} at 8 kHz, RTF <= {TARGET_RTF} on this 2-core machine.",
        "CER: both sides through clean_transcript (Simplified + number normalisation), punctuation and",
        "spaces removed; `CER t2s` = both sides through to_simplified only. RTF = processing s / audio s",
        "(min of the repeats per clip, summed over clips); `long RTF` is one ~59 s file of all clips joined.",
        "`CPU s / audio s` = CPU time of all threads (clips + long file) per audio second: less sensitive",
        "than RTF to other jobs (not immune); on an idle machine RTF would lie between half of it and all of it.",
        "Peak RSS is the whole worker process (Python + libraries + model). All Whisper rows: beam 5,",
        "vad_filter on, no initial prompt, audio trimmed and levelled to -20 dBFS in memory, 2 CPU threads,",
        f"unless the row says otherwise. The dev set has {nref} reference characters: one character is "
        f"{100 / max(nref, 1):.2f} CER points.",
        "",
        "`load avg` = the 1-minute load average at the start of each round's run of that row (2 CPUs).",
        "",
        "| config | CER | CER t2s | RTF (clips) | long RTF | CPU s / audio s | load s | peak RSS MB | CER target | RTF target | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in main:
        if "error" in r:
            lines.append(f"| {r['config']} | error: {r['error']} | | | | | | | | | |")
            continue
        cer_ok = "n/a" if r["cer"] is None else ("met" if r["cer"] <= TARGET_CER else "NOT met")
        rtf_ok = (
            "met"
            if r["rtf"] <= TARGET_RTF
            else ("long file only" if r["long_rtf"] <= TARGET_RTF else "NOT met")
        )
        lines.append(
            f"| {r['config']} | {pct(r['cer'])} | {pct(r['cer_t2s'])} | {r['rtf']:.3f} | {r['long_rtf']:.3f} "
            f"| {r['cpu_s_per_audio_s']:.3f} | {r['load_s']:.2f} | {r['peak_rss_mb']:.0f} | {cer_ok} | {rtf_ok} "
            f"| {', '.join(f'{x:.1f}' for x in r.get('loadavg_1m_all', []))} |"
        )
    ref = next((r for r in main if r["config"] == "vosk-cn-8k" and "error" not in r), None)
    if ref:
        lines += ["", "CPU s per audio s relative to vosk-cn-8k measured in the same run: "
                  + ", ".join(f"{r['config']} {r['cpu_s_per_audio_s'] / ref['cpu_s_per_audio_s']:.2f}x"
                              for r in main if "error" not in r)]  # fmt: skip
    for r in main:
        if r.get("combo_draws"):
            lines += combo_markdown(analyse(r["combo_draws"]))
    if tuning:
        lines += ["", "## Tuning (whisper int8, 8 kHz clips, one run per clip)", "",
                  "| variant | change | CER | CER t2s | RTF |", "|---|---|---|---|---|"]  # fmt: skip
        for r in tuning:
            cfg = configs[r["config"]]
            change = ", ".join(f"{k}={v}" for k, v in cfg.get("opts", {}).items()) or cfg["audio"]
            if "error" in r:
                lines.append(f"| {r['config']} | {change} | error: {r['error']} | | |")
            else:
                lines.append(
                    f"| {r['config']} | {change} | {pct(r['cer'])} | {pct(r['cer_t2s'])} | {r['rtf']:.3f} |"
                )
    for r in main:
        if "clips" not in r:
            continue
        lines += [
            "",
            f"## {r['config']}",
            "",
            "| clip | s | RTF | CER | CER t2s | hypothesis |",
            "|---|---|---|---|---|---|",
        ]
        for c in r["clips"]:
            lines.append(
                f"| {c['clip']} | {c['audio_s']:.1f} | {c['rtf']:.3f} | {pct(c['cer'])} | {pct(c['cer_t2s'])} "
                f"| {c['text'] or '(empty)'} |"
            )
    return "\n".join(lines) + "\n"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("faster-whisper", "ctranslate2", "vosk"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} missing")
    return ", ".join(out)
