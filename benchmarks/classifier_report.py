"""The classifier benchmark's figures about itself and its page: the machine it ran on, memory,
latency percentiles, and the Markdown table written beside the JSON (docs/bench/classifier-*.md).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers

from services.classifier.nlp.encoder import Encoder, default_threads, native_bf16


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {f"p{q}": round(float(np.percentile(ms, q)), 1) for q in (50, 99)}


def machine_facts(encoder: Encoder) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        names = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    facts = {
        "cpu": cpu,
        "cores": default_threads(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": str(encoder.device),
        "dtype": str(encoder.dtype).removeprefix("torch."),
        "native_bf16": native_bf16(encoder.device),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    if encoder.device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(encoder.device)
    return facts


def render_markdown(r: dict[str, Any]) -> str:
    m, c, svc, naive = r["machine"], r["corpus"], r["service"], r["naive"]
    hardware = m.get("gpu") or f"{m['cpu']}, {m['cores']} cores"
    lines = [
        f"# Classifier throughput on {m['device']} ({hardware})",
        "",
        f"Command: `{r['command']}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores usable, {m['torch_threads']} torch threads; "
        f"Python {m['python']}, torch {m['torch']}, transformers {m['transformers']}; "
        f"load average before {m['load_average_before']}, after {m['load_average_after']}.",
        "",
        f"Corpus: {c['texts']} {c['mix']} texts (seed {c['seed']}) in {len(c['languages'])} "
        "languages, "
        f"tokens mean {c['tokens']['mean']}, p50 {c['tokens']['p50']}, "
        f"p90 {c['tokens']['p90']}, max {c['tokens']['max']}; the two paths alternate over "
        f"{c['rounds']} rounds.",
        "",
        "| path | texts/s | latency p50 | latency p99 | peak RSS |",
        "|---|---|---|---|---|",
        f"| service: `classify` on batches of {svc['batch_texts']}, {m['dtype']}, "
        f"{svc['lanes']} lane(s) of {svc['threads_per_lane']} thread(s) "
        f"| {svc['texts_per_s']} | {svc['batch_latency_ms']['p50']} ms / batch "
        f"| {svc['batch_latency_ms']['p99']} ms / batch | {svc['peak_rss_mb']} MB |",
        f'| naive: `pipeline("feature-extraction")` one text at a time, float32 '
        f"| {naive['texts_per_s']} | {naive['text_latency_ms']['p50']} ms / text "
        f"| {naive['text_latency_ms']['p99']} ms / text | {r['process_peak_rss_mb']} MB (both) |",
        "",
        f"**Ratio: {r['ratio']}x** the naive loop (median of the rounds; per round "
        f"{', '.join(map(str, r['ratio_per_round']))}). Texts/s are medians of the rounds too. "
        "Sentiment labels agree on "
        f"{100 * r['sentiment_agreement']:.1f}% of texts.",
    ]
    if "cuda_max_allocated_mb" in r:
        lines += ["", f"CUDA memory, max allocated: {r['cuda_max_allocated_mb']} MB."]
    if q := r.get("quality"):
        lines += [
            "",
            f"Held-out test split ({q['n']} items) through the service path at {m['dtype']}: "
            f"sentiment accuracy {q['sentiment_accuracy']}, macro-F1 {q['sentiment_macro_f1']}, "
            f"primary-topic accuracy {q['primary_topic_accuracy']}.",
        ]
    return "\n".join(lines) + "\n"
