"""`voc classify` (services.classifier.cli) on the real model.

The model cache is built once in-process; the command then runs as a subprocess against it, as
a support engineer would run it, with the classifier's own environment variables.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from services.classifier.cli import classify_stream
from services.classifier.nlp.pipeline import TextClassifier, TextInput, build_classifier
from services.classifier.nlp.settings import NlpSettings

GOOD_AND_BAD = [
    json.dumps({"id": "t-1", "text": "Terrible support, call me at +46 70 123 45 67!"}),
    "{not json",
    json.dumps({"text": "Отличный магазин, всё пришло вовремя!", "lang": "ru"}),
    "",
    json.dumps({"id": "t-4", "text": 42}),
    json.dumps({"id": "t-5", "text": "Il pacco è arrivato in ritardo, pessimo servizio."}),
    json.dumps(["a list", "not an object"]),
]


@pytest.fixture(scope="module")
def nlp_settings(tmp_path_factory: pytest.TempPathFactory) -> NlpSettings:
    return NlpSettings(cache_dir=tmp_path_factory.mktemp("cli-cache"))


@pytest.fixture(scope="module")
def classifier(nlp_settings: NlpSettings) -> TextClassifier:
    # Warms the cache the subprocesses load from (~30 s on two cores the first time).
    return build_classifier(nlp_settings)


def voc_classify(
    nlp_settings: NlpSettings, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLASSIFIER_NLP__CACHE_DIR": str(nlp_settings.cache_dir)}
    return subprocess.run(
        [sys.executable, "-m", "services.classifier.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


class TestClassifyCommand:
    def test_good_lines_are_classified_and_bad_lines_reported_by_number(
        self, classifier: TextClassifier, nlp_settings: NlpSettings
    ) -> None:
        done = voc_classify(nlp_settings, stdin="\n".join(GOOD_AND_BAD) + "\n")
        assert done.returncode == 1
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["id"] for r in rows] == ["t-1", 3, "t-5"]  # no id: the line number
        first, russian, italian = rows
        assert first["redacted_text"] == "Terrible support, call me at [PHONE]!"
        assert first["language"] == "en" and first["unscored"] is False
        assert first["sentiment"]["label"] == "negative" and first["sentiment"]["score"] < 0
        assert set(first["sentiment"]) == {"label", "score", "confidence"}
        assert first["topics"][0]["label"] == "customer_support"
        assert russian["language"] == "ru" and russian["sentiment"]["label"] == "positive"
        assert italian["unscored"] is True and italian["sentiment"] is None
        assert italian["unscored_reason"] == "unsupported_language:it"
        assert {r["model_version"] for r in rows} == {classifier.model_version}
        errors = done.stderr.splitlines()
        assert any(e.startswith("line 2: not JSON") for e in errors)
        assert any(e.startswith("line 5: 'text' must be a string") for e in errors)
        assert any(e.startswith("line 7: not a JSON object") for e in errors)
        assert not any(e.startswith("line 4") for e in errors)  # blank lines are skipped

    def test_file_in_file_out_exits_zero_when_every_line_is_good(
        self, classifier: TextClassifier, nlp_settings: NlpSettings, tmp_path: Path
    ) -> None:
        source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        source.write_bytes(
            b'{"id": 1, "text": "Leveransen kom i tid, tack!", "lang": "sv-SE"}\n'
            b'{"id": 2, "text": ""}\n'
        )
        done = voc_classify(
            nlp_settings, "--input", str(source), "--output", str(target), "--batch-size", "1"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
        swedish, empty = (json.loads(line) for line in target.read_text("utf-8").splitlines())
        assert swedish["language"] == "sv" and swedish["sentiment"]["label"] == "positive"
        assert empty["unscored"] is True and empty["unscored_reason"] == "no_text"

    def test_a_missing_input_file_is_a_usage_error(
        self, nlp_settings: NlpSettings, tmp_path: Path
    ) -> None:
        done = voc_classify(nlp_settings, "--input", str(tmp_path / "nope.jsonl"))
        assert done.returncode == 2
        assert "nope.jsonl" in done.stderr

    @pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
    def test_cuda_requested_without_cuda_is_a_clear_error(
        self, nlp_settings: NlpSettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CLASSIFIER_NLP__DEVICE", "cuda")
        done = voc_classify(nlp_settings, stdin='{"text": "hello"}\n')
        assert done.returncode == 2
        assert "CUDA is not available" in done.stderr
        assert "Traceback" not in done.stderr


class TestClassifyStream:
    def test_input_is_read_one_batch_ahead_at_most(self, classifier: TextClassifier) -> None:
        consumed = 0

        def lines() -> Iterator[bytes]:
            nonlocal consumed
            for i in range(10):
                consumed += 1
                yield json.dumps({"text": f"Item {i} arrived late, not happy."}).encode()

        flushes: list[int] = []  # lines consumed when each batch was flushed

        class Probe(io.StringIO):
            def flush(self) -> None:
                flushes.append(consumed)

        out = Probe()
        written, bad = classify_stream(classifier, lines(), out, io.StringIO(), batch_size=4)
        assert (written, bad) == (10, 0)
        assert flushes == [4, 8, 10]  # bounded memory: a batch is written before more is read

    def test_same_answers_as_one_service_call(self, classifier: TextClassifier) -> None:
        texts = ["Great app, love it!", "Die Rechnung ist falsch.", "¿Dónde está mi pedido?"]
        out = io.StringIO()
        lines = (json.dumps({"text": t}).encode() for t in texts)
        classify_stream(classifier, lines, out, io.StringIO(), batch_size=2)
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        direct = classifier.classify([TextInput(t) for t in texts])
        assert [r["language"] for r in rows] == [d.language for d in direct]
        for row, d in zip(rows, direct, strict=True):
            assert d.sentiment is not None
            assert row["sentiment"]["label"] == d.sentiment.label.value
            assert row["sentiment"]["score"] == pytest.approx(d.sentiment.score, abs=0.02)
            assert row["topics"][0]["label"] == d.topics[0][0].value
