"""The canonical formats: JSONL lines and CSV rows to request items, each with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.importer.errors import FormatError
from services.importer.formats import csv, jsonl


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestJsonl:
    def test_objects_keep_their_line_numbers_across_blank_lines(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "a.jsonl", '{"source_id": "a"}\n\n  \n{"source_id": "b"}\n')

        records = list(jsonl.read(path))

        assert [(r.line, r.item) for r in records] == [
            (1, {"source_id": "a"}),
            (4, {"source_id": "b"}),
        ]
        assert jsonl.count(path) == 2

    def test_broken_line_is_an_error_on_that_line_and_reading_goes_on(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "b.jsonl", '{"a": 1}\n{"a": \n[1, 2]\n{"a": 3}\n')

        records = list(jsonl.read(path))

        assert [(r.line, r.error is None) for r in records] == [
            (1, True),
            (2, False),
            (3, False),
            (4, True),
        ]
        assert records[1].error is not None and records[1].error.startswith("invalid JSON")
        assert records[2].error == "expected a JSON object"

    def test_byte_order_mark_is_ignored(self, tmp_path: Path) -> None:
        path = tmp_path / "bom.jsonl"
        path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n')

        assert [r.item for r in jsonl.read(path)] == [{"a": 1}]


class TestCsv:
    def test_dotted_columns_nest_and_tags_split_on_semicolons(self, tmp_path: Path) -> None:
        path = _write(
            tmp_path,
            "t.csv",
            "source,source_id,customer.id,engagement.likes,metadata.form_id,tags\n"
            "x,1,c-9,12,checkout, billing ; refund;;\n",
        )

        [record] = list(csv.read(path))

        assert record.item == {
            "source": "x",
            "source_id": "1",
            "customer": {"id": "c-9"},
            "engagement": {"likes": "12"},
            "metadata": {"form_id": "checkout"},
            "tags": ["billing", "refund"],
        }

    def test_empty_cells_are_absent_fields_and_blank_rows_are_skipped(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "e.csv", "source_id,nps,comment\n1,,\n,,\n2,7, ok \n")

        records = list(csv.read(path))

        assert [(r.line, r.item) for r in records] == [
            (2, {"source_id": "1"}),
            (4, {"source_id": "2", "nps": "7", "comment": "ok"}),
        ]

    def test_multiline_cell_keeps_the_line_where_its_record_starts(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "m.csv", 'source_id,comment\n1,"two\nlines"\n2,x\n')

        records = list(csv.read(path))

        assert [(r.line, r.item) for r in records] == [
            (2, {"source_id": "1", "comment": "two\nlines"}),
            (4, {"source_id": "2", "comment": "x"}),
        ]

    def test_row_with_more_cells_than_columns_is_an_error(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "w.csv", "source_id,nps\n1,2,3\n")

        [record] = list(csv.read(path))

        assert record.line == 2 and record.error == "3 cells but the header names 2 columns"

    def test_spreadsheet_byte_order_mark_does_not_rename_the_first_column(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "bom.csv"
        path.write_bytes(b"\xef\xbb\xbfsource_id,nps\n1,9\n")

        assert [r.item for r in csv.read(path)] == [{"source_id": "1", "nps": "9"}]

    @pytest.mark.parametrize(
        ("header", "problem"),
        [
            ("source_id,nps,nps", "appears twice"),
            ("customer,customer.id", "nests under 'customer'"),
            ("source_id,,nps", "empty column name"),
        ],
    )
    def test_unusable_header_is_a_format_error(
        self, tmp_path: Path, header: str, problem: str
    ) -> None:
        path = _write(tmp_path, "h.csv", f"{header}\n1,2,3\n")

        with pytest.raises(FormatError, match=problem):
            list(csv.read(path))
