"""Where and how the encoder computes: device, dtype, threads and lanes from the settings.

Kept apart from the encoder so the choices, each measured in docs/bench/README.md, read as one
place and can be tested without loading a model.
"""

from __future__ import annotations

import os
from typing import Literal

import structlog
import torch

log = structlog.get_logger(__name__)

Device = Literal["cpu", "cuda", "auto"]
Dtype = Literal["auto", "float32", "bfloat16", "float16"]


class DeviceUnavailable(RuntimeError):
    """The configured device does not exist on this machine."""


def resolve_device(setting: Device) -> torch.device:
    if setting == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if setting == "cuda":
        # An explicit request is a deployment promise; running 50x slower unnoticed is worse.
        raise DeviceUnavailable("device 'cuda' requested but CUDA is not available")
    log.info("encoder.cuda_unavailable", fallback="cpu")
    return torch.device("cpu")


def native_bf16(device: torch.device) -> bool:
    """Whether the hardware computes bfloat16 itself; emulated bf16 is slower than float32."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))


def resolve_dtype(setting: Dtype, device: torch.device) -> torch.dtype:
    if setting != "auto":
        return getattr(torch, setting)  # type: ignore[no-any-return]
    # bfloat16 keeps float32's range, so vectors match it closely (cosine > 0.9999) and the
    # held-out accuracy is unchanged; docs/bench/README.md has the measurements.
    if native_bf16(device):
        return torch.bfloat16
    return torch.float16 if device.type == "cuda" else torch.float32


def default_threads() -> int:
    # The CPUs this process may run on, which a container or taskset can limit below cpu_count.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def default_lanes(device: torch.device, threads: int) -> int:
    # Whole batches side by side beat splitting each op across cores on a CPU (measured, see
    # docs/bench/README.md); a GPU runs one batch at a time anyway.
    return min(2, threads) if device.type == "cpu" else 1
