"""The summary an operator reads, and the exit code scripts act on."""

from __future__ import annotations

from services.importer.summary import Duplicate, Rejection, Summary


def _summary(**fields: object) -> Summary:
    summary = Summary(file="feedback.jsonl", kind="surveys", format="jsonl")
    for name, value in fields.items():
        setattr(summary, name, value)
    return summary


class TestSummary:
    def test_exit_code_is_0_when_all_landed_1_with_rejections_2_when_stopped(self) -> None:
        dup = [Duplicate("line 4", "line 1")]
        assert _summary(read=4, accepted=3, duplicates=dup).exit_code() == 0
        rejected = [Rejection(0, "line 1", 1, "nps: too big")]
        assert _summary(read=1, rejected=rejected).exit_code() == 1
        assert _summary(read=1, rejected=rejected, aborted="down").exit_code() == 2

    def test_text_lists_rejections_in_file_order_then_how_many_more(self) -> None:
        rejected = [Rejection(seq, f"line {seq + 1}", seq + 1, "bad") for seq in (30, 2, 11)]
        summary = _summary(read=40, accepted=37, rejected=rejected)

        text = summary.render(shown=2)

        assert "  rejected    3\n    line 3: bad\n    line 12: bad\n    ... and 1 more" in text
        assert "  accepted    37" in text

    def test_stopped_run_says_how_many_records_were_not_sent_and_why(self) -> None:
        summary = _summary(read=10, accepted=4, aborted="POST /v1/responses failed 8 times")

        text = summary.render()

        assert "stopped early" in text and "  not sent    6" in text
        assert text.endswith("error: POST /v1/responses failed 8 times")
        assert summary.as_dict()["not_sent"] == 6

    def test_json_form_carries_every_rejection_with_its_line(self) -> None:
        rejected = [Rejection(1, "line 2", 2, "csat: too big", {"source_id": "x"})]
        doc = _summary(read=2, accepted=1, rejected=rejected).as_dict()

        assert doc["rejected"] == [{"where": "line 2", "line": 2, "reason": "csat: too big"}]
        assert (doc["accepted"], doc["exit_code"]) == (1, 1)
