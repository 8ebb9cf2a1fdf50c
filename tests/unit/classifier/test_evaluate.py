from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.classifier.nlp.evaluate import (
    UNSCORED,
    Outcome,
    build_report,
    confusion,
    macro_f1,
    micro_f1,
    slices_of,
    summarise,
)
from services.classifier.nlp.examples import Example
from services.classifier.nlp.report import render_markdown, write_report
from shared.events import SentimentLabel, Topic

NEG, NEU, POS = SentimentLabel.negative, SentimentLabel.neutral, SentimentLabel.positive

# Five hand-labelled items and what a classifier said about them. Worked out by hand:
# sentiment: negative F1 = 2*1/(2+1) = 2/3, neutral 1, positive 2*1/(2+2) = 1/2;
#   macro-F1 = (2/3 + 1 + 1/2) / 3 = 0.722; accuracy 3/5.
# primary topic: hits on items 1, 4, 5 -> 3/5.
# topic micro-F1: true positives 1+2+0+1+1 = 5, true labels 7, predicted labels 7 -> 10/14.
CASE = [
    # id, lang, text, true sentiment, true topics, predicted sentiment, predicted topics, language
    ("en-1", "en", "Parcel lost again.", NEG, ["delivery"], "negative", ["delivery"], "en"),
    ("en-2", "en", "No refund", NEG, ["billing", "returns"], "positive", ["returns", "billing"],
     None),
    ("sv-1", "sv", "Ingen kommentar.", NEU, ["other"], "neutral", ["delivery"], "nb"),
    ("sv-2", "sv", "Billigt och bra kvalitet", POS, ["pricing", "product_quality"], "positive",
     ["pricing"], "sv"),
    ("sv-3", "sv", "Appen är toppen!", POS, ["usability"], UNSCORED, ["usability", "other"], "sv"),
]  # fmt: skip
TAGS = {"en-1": ("sarcasm",), "sv-2": ("mixed",)}


def outcomes() -> list[Outcome]:
    return [
        Outcome(
            example=Example(
                id=i,
                lang=lang,
                text=text,
                sentiment=true_s,
                topics=tuple(Topic(t) for t in true_t),
                split="test",
                tags=TAGS.get(i, ()),
            ),
            sentiment=pred_s,
            topics=tuple(pred_t),
            language=detected,
        )
        for i, lang, text, true_s, true_t, pred_s, pred_t, detected in CASE
    ]


def report() -> dict[str, Any]:
    meta = {"command": "cmd", "model_version": "m", "examples_file": "f", "examples_sha256": "h"}
    meta |= {"examples": {"train": 9, "test": 5}, "topic_threshold": 0.5, "encoder": "e"}
    meta |= {"scored_languages": ["en", "sv"], "unscored_languages": ["nb"]}
    items = outcomes()
    return build_report(items, items, meta)


class TestMetrics:
    def test_macro_f1_and_accuracy_on_the_hand_made_case(self) -> None:
        figures = summarise(outcomes())
        assert figures["sentiment_macro_f1"] == 0.722
        assert figures["sentiment_accuracy"] == 0.6
        assert figures["unscored"] == 1

    def test_primary_topic_accuracy_and_topic_f1_on_the_hand_made_case(self) -> None:
        figures = summarise(outcomes())
        assert figures["primary_topic_accuracy"] == 0.6
        assert figures["topic_f1"] == round(10 / 14, 3)

    def test_confusion_rows_are_true_labels_and_columns_predictions(self) -> None:
        true = ["negative", "negative", "neutral", "positive", "positive"]
        pred = ["negative", "positive", "neutral", "positive", UNSCORED]
        labels = ["negative", "neutral", "positive", UNSCORED]
        assert confusion(true, pred, labels) == [
            [1, 0, 1, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 1],
            [0, 0, 0, 0],
        ]

    def test_a_label_nobody_used_does_not_drag_macro_f1_down(self) -> None:
        assert macro_f1(["a", "b"], ["a", "b"], ["a", "b", "c"]) == 1.0

    def test_micro_f1_ignores_topic_order(self) -> None:
        assert micro_f1([["billing", "returns"]], [["returns", "billing"]]) == 1.0

    def test_an_empty_group_has_no_figures(self) -> None:
        assert summarise([])["sentiment_macro_f1"] is None

    @pytest.mark.parametrize(
        ("text", "tags", "expected"),
        [
            ("Never again.", (), {"short"}),
            ("Parcel lost again.", ("sarcasm",), {"short", "sarcasm"}),
            ("This one has six words in it", ("mixed",), {"mixed"}),
            ("Hi", (), set()),
        ],
    )
    def test_slices_are_tags_plus_short_by_word_count(
        self, text: str, tags: tuple[str, ...], expected: set[str]
    ) -> None:
        example = Example("x", "en", text, NEU, (Topic.other,), "test", tags)
        assert slices_of(example) == expected


class TestReport:
    def test_figures_per_language_and_for_all(self) -> None:
        figures = report()["test"]
        assert list(figures) == ["en", "sv", "all"]
        assert figures["en"]["sentiment_accuracy"] == 0.5
        assert figures["sv"]["primary_topic_accuracy"] == round(2 / 3, 3)
        assert figures["all"]["n"] == 5

    def test_language_id_counts_undetected_as_a_miss_and_names_the_errors(self) -> None:
        lid = report()["language_id"]
        assert lid["test"]["en"]["accuracy"] == 0.5
        assert lid["test"]["sv"]["accuracy"] == round(2 / 3, 3)
        assert lid["test"]["all"]["n_short"] == 5
        assert lid["errors_all_examples"] == {"en->none": 1, "sv->nb": 1}

    def test_confusion_matrices_get_an_unscored_column_when_needed(self) -> None:
        sentiment = report()["confusion"]["sentiment"]
        assert sentiment["predicted"] == ["negative", "neutral", "positive", UNSCORED]
        assert sentiment["matrix"] == [[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1]]
        topics = report()["confusion"]["primary_topic"]
        assert sum(map(sum, topics["matrix"])) == 5

    def test_slices_and_mistakes_are_listed(self) -> None:
        built = report()
        assert set(built["slices"]) == {"short", "sarcasm", "mixed"}
        assert [m["id"] for m in built["mistakes"]] == ["en-2", "sv-1", "sv-3"]

    def test_the_same_outcomes_give_byte_identical_files(self, tmp_path: Path) -> None:
        first = write_report(report(), tmp_path / "a", "r")
        second = write_report(report(), tmp_path / "b", "r")
        for a, b in zip(first, second, strict=True):
            assert a.read_bytes() == b.read_bytes()
        assert json.loads(first[0].read_text())["model_version"] == "m"

    def test_markdown_states_the_command_model_and_file_hash(self) -> None:
        text = render_markdown(report())
        assert "`cmd`" in text and "`m`" in text and "sha256 `h`" in text
        assert "| sv | 3 |" in text
        assert "| negative | 1 | 0 | 1 | 0 |" in text
