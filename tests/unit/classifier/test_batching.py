from __future__ import annotations

import threading

import pytest
import torch

from services.classifier.nlp.batching import (
    Lanes,
    length_batches,
    padded_tokens,
    set_intra_op_threads,
    spread,
)


class TestSpread:
    def test_enough_batches_are_left_alone(self) -> None:
        batches = [[0, 1], [2], [3, 4, 5]]
        assert spread(batches, 2, [5, 5, 9, 20, 20, 20]) == batches

    def test_one_batch_is_halved_for_two_lanes(self) -> None:
        assert spread([[3, 1, 0, 2]], 2, [4, 4, 4, 4]) == [[3, 1], [0, 2]]

    def test_the_costliest_batch_is_halved_first(self) -> None:
        lengths = [2, 2, 2, 2, 50, 50]
        # [0..3] pads to 8 tokens, [4, 5] to 100: the long pair is the one split.
        assert spread([[0, 1, 2, 3], [4, 5]], 3, lengths) == [[0, 1, 2, 3], [4], [5]]

    def test_single_texts_cannot_be_split_further(self) -> None:
        assert spread([[0]], 4, [7]) == [[0]]
        assert spread([[0, 1]], 4, [7, 7]) == [[0], [1]]

    def test_every_index_stays_exactly_once(self) -> None:
        lengths = [(i * 13) % 40 + 1 for i in range(64)]
        batches = length_batches(lengths, max_rows=32, max_tokens=512)
        spread_out = spread(batches, 8, lengths)
        assert len(spread_out) >= 8
        assert sorted(i for b in spread_out for i in b) == list(range(64))

    def test_padded_tokens_is_rows_times_the_longest(self) -> None:
        assert padded_tokens([0, 2], [3, 100, 9]) == 18


class TestLanes:
    def test_results_come_back_in_job_order(self) -> None:
        lanes = Lanes(2, 1)
        jobs = [[k] for k in range(9)]
        # Costs reversed from the order, so the jobs start in the opposite order.
        assert lanes.map(lambda job: job[0] * 10, jobs, list(range(9))) == [
            k * 10 for k in range(9)
        ]
        lanes.close()

    def test_costliest_jobs_start_first(self) -> None:
        lanes = Lanes(2, 1)
        started: list[int] = []
        lock = threading.Lock()
        pair = threading.Barrier(2, timeout=10)

        def run(job: list[int]) -> int:
            with lock:
                started.append(job[0])
            if job[0] != 0:
                # Holds both lanes until the two first-dequeued jobs have started.
                pair.wait()
            return job[0]

        lanes.map(run, [[0], [1], [2]], [1, 30, 2])
        assert set(started[:2]) == {1, 2}
        assert started[2] == 0
        lanes.close()

    def test_jobs_run_side_by_side_on_their_own_thread_count(self) -> None:
        lanes = Lanes(2, 1)
        barrier = threading.Barrier(2, timeout=10)
        seen: list[tuple[str, int, bool]] = []

        def run(job: list[int]) -> int:
            # Both jobs must be inside run() at once for the barrier to open: two lanes.
            barrier.wait()
            seen.append(
                (
                    threading.current_thread().name,
                    torch.get_num_threads(),
                    torch.is_inference_mode_enabled(),
                )
            )
            return job[0]

        assert lanes.map(run, [[0], [1]], [1, 1]) == [0, 1]
        assert {name.startswith("encoder-lane") for name, _, _ in seen} == {True}
        assert len({name for name, _, _ in seen}) == 2
        assert all(threads == 1 and inference for _, threads, inference in seen)
        lanes.close()

    def test_lanes_leave_the_callers_thread_count_alone(self) -> None:
        counts: list[int] = []

        def caller() -> None:
            # A fresh thread, as the service's worker threads are: its count is not yet fixed.
            set_intra_op_threads(2)
            lanes = Lanes(2, 1)
            counts.extend(lanes.map(lambda job: torch.get_num_threads(), [[0], [1]], [1, 1]))
            lanes.close()
            # A parallel op here, after the lanes set theirs, must not reset this thread's.
            torch.ones(1 << 16).add_(1)
            counts.append(torch.get_num_threads())

        thread = threading.Thread(target=caller)
        thread.start()
        thread.join()
        assert counts == [1, 1, 2]

    def test_one_lane_runs_in_the_callers_thread(self) -> None:
        caller = threading.current_thread().name
        names = Lanes(1, 2).map(lambda job: threading.current_thread().name, [[0], [1]], [1, 1])
        assert names == [caller, caller]

    def test_an_error_in_a_job_reaches_the_caller(self) -> None:
        lanes = Lanes(2, 1)

        def run(job: list[int]) -> int:
            if job[0] == 1:
                raise RuntimeError("boom")
            return job[0]

        with pytest.raises(RuntimeError, match="boom"):
            lanes.map(run, [[0], [1], [2]], [1, 1, 1])
        lanes.close()

    @pytest.mark.parametrize(("lanes", "threads"), [(0, 1), (2, 0)])
    def test_nonsense_sizes_are_refused(self, lanes: int, threads: int) -> None:
        with pytest.raises(ValueError, match=">= 1"):
            Lanes(lanes, threads)
