"""Command-line usage errors exit 2 before anything is read or sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.importer.cli import main, write_rejects
from services.importer.summary import Rejection, Summary

FIXTURES = Path(__file__).parents[2] / "fixtures" / "import"


class TestCli:
    def test_canonical_format_needs_a_kind(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_:
            main(["--format", "jsonl", str(FIXTURES / "tickets.jsonl")])

        assert exit_.value.code == 2
        assert "--kind is required with --format jsonl" in capsys.readouterr().err

    def test_vendor_format_of_another_kind_is_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_:
            main(
                ["--kind", "reviews", "--format", "zendesk", str(FIXTURES / "zendesk_ticket.json")]
            )

        assert exit_.value.code == 2
        assert "--format zendesk holds tickets, not reviews" in capsys.readouterr().err

    def test_missing_file_exits_2(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        code = main(["--format", "yelp", str(tmp_path / "nope.json")])

        assert code == 2
        assert "nope.json: no such file" in capsys.readouterr().err

    def test_batch_size_above_the_endpoint_limit_is_a_usage_error(self) -> None:
        with pytest.raises(SystemExit) as exit_:
            main(
                [
                    "--format",
                    "yelp",
                    "--batch-size",
                    "5000",
                    str(FIXTURES / "yelp_business_reviews.json"),
                ]
            )

        assert exit_.value.code == 2

    def test_rejects_file_has_one_json_line_per_rejection(self, tmp_path: Path) -> None:
        summary = Summary(file="f", kind="tickets", format="jsonl")
        summary.rejected = [
            Rejection(5, "line 6", 6, "csat: too big", {"source_id": "b"}),
            Rejection(1, "line 2", 2, "invalid JSON", None),
        ]
        path = tmp_path / "rejects.jsonl"

        write_rejects(summary, path)

        assert path.read_text().splitlines() == [
            '{"where":"line 2","line":2,"reason":"invalid JSON","item":null}',
            '{"where":"line 6","line":6,"reason":"csat: too big","item":{"source_id":"b"}}',
        ]
