"""How the encoder cuts a call into forward passes, and runs them on the cores.

Two ideas, both measured on a 2-core CPU (docs/bench/README.md):

- Length batching: texts sorted by length and cut by a token budget pad little, and long texts
  go in small batches while short ones go in large.
- Lanes: the matmuls of a small encoder on a few hundred tokens are too small to split well
  across cores; every op of a forward pass pays a fork/join of the intra-op threads. Running
  whole batches side by side, each on its own thread with fewer intra-op threads, keeps every
  core busy without those barriers (torch releases the GIL inside its kernels). It also keeps a
  core's work going when another process takes the other core, where a team of threads would
  wait at every barrier for its slowest member.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import torch

R = TypeVar("R")


def set_intra_op_threads(threads: int) -> None:
    """Set the calling thread's torch intra-op thread count, for good.

    torch.set_num_threads sets the calling thread's count and a process default; a thread's
    first parallel op resets its count to that default unless the thread has asked for its
    count before (measured, torch 2.13). So ask first: then neither a lane setting the default
    to 1 nor the main thread setting it back changes another thread's count.
    """
    torch.get_num_threads()
    torch.set_num_threads(threads)


def length_batches(lengths: Sequence[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, shortest first.

    Sorted by length, so a batch pads little; a batch closes at `max_rows` texts or when its
    padded size (rows x longest) would pass `max_tokens`, so long texts go in small batches
    and short ones in large. Stable: equal inputs always land in the same batches.
    """
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in np.argsort(lengths, kind="stable").tolist():
        if batch and (len(batch) >= max_rows or (len(batch) + 1) * lengths[i] > max_tokens):
            batches.append(batch)
            batch = []
        batch.append(i)
    return [*batches, batch] if batch else batches


def spread(batches: list[list[int]], lanes: int, lengths: Sequence[int]) -> list[list[int]]:
    """At least `lanes` batches where the texts allow, so no lane idles on a small call: the
    costliest batch is halved until there are enough (each half pads no more than the whole)."""
    out = [list(b) for b in batches]
    while len(out) < lanes:
        splittable = [k for k, b in enumerate(out) if len(b) > 1]
        if not splittable:
            break
        k = max(splittable, key=lambda k: padded_tokens(out[k], lengths))
        batch = out.pop(k)
        half = len(batch) // 2
        out[k:k] = [batch[:half], batch[half:]]
    return out


def padded_tokens(batch: Sequence[int], lengths: Sequence[int]) -> int:
    return len(batch) * max(lengths[i] for i in batch)


class Lanes:
    """Runs independent jobs on `lanes` threads, each with `threads_each` intra-op threads.

    With one lane the jobs run in the caller's thread, as plain calls; with more, always in the
    lanes, so a text's vector never depends on which thread count its batch happened to get.
    Results come back in the order of the jobs whatever order they ran in.
    """

    def __init__(self, lanes: int, threads_each: int) -> None:
        if lanes < 1 or threads_each < 1:
            raise ValueError("lanes and threads_each must be >= 1")
        self.lanes = lanes
        self.threads_each = threads_each
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def map(
        self, run: Callable[[list[int]], R], jobs: Sequence[list[int]], costs: Sequence[int]
    ) -> list[R]:
        """`run(job)` for each job; the costliest start first, so the last to finish is short."""
        if self.lanes == 1:
            return [self._call(run, job) for job in jobs]
        order = sorted(range(len(jobs)), key=lambda k: -costs[k])
        done = self._executor().map(lambda k: (k, self._call(run, jobs[k])), order)
        results: list[R | None] = [None] * len(jobs)
        for k, result in done:
            results[k] = result
        return results  # type: ignore[return-value]  # every slot filled above

    def _call(self, run: Callable[[list[int]], R], job: list[int]) -> R:
        # inference_mode is per thread: entered where the forward pass runs.
        with torch.inference_mode():
            return run(job)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.lanes,
                    thread_name_prefix="encoder-lane",
                    initializer=set_intra_op_threads,
                    initargs=(self.threads_each,),
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
