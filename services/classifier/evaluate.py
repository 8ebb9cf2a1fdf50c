"""`python -m services.classifier.evaluate` (`make eval`): regenerate docs/eval/classifier-report.*.

Builds the classifier exactly as the service does (settings from the CLASSIFIER_ environment,
heads trained from the committed examples, never the ones `voc train-heads` installed), scores
the held-back test split through `classify()`, and writes the report. Language identification is
measured without the source's hint, as a social post arrives; sentiment and topics with the
item's language as the hint, as a survey or ticket with a customer locale arrives.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from services.classifier.nlp.evaluate import UNSCORED, Outcome, build_report
from services.classifier.nlp.examples import TAGS, parse_examples
from services.classifier.nlp.pipeline import TextClassifier, TextInput, build_classifier
from services.classifier.nlp.redact import PLACEHOLDER, redact
from services.classifier.nlp.report import write_report
from services.classifier.nlp.settings import DEFAULT_EXAMPLES, NlpSettings
from services.classifier.settings import ClassifierSettings
from shared.events import Topic

COMMAND = "python -m services.classifier.evaluate"
REPORT_NAME = "classifier-report"


def evaluate(classifier: TextClassifier, examples_path: Path, nlp: NlpSettings) -> dict[str, Any]:
    """The report of `classifier` on the examples file's test split."""
    raw = examples_path.read_bytes()
    examples = parse_examples(raw.decode("utf-8"))
    test = [e for e in examples if e.split == "test"]

    def detect(text: str) -> str | None:
        # As the pipeline does: placeholders are not words of any language.
        found = classifier.detector.detect(PLACEHOLDER.sub(" ", redact(text)))
        return found.code if found else None

    detected = {e.id: detect(e.text) for e in examples}
    results = classifier.classify([TextInput(e.text, language_hint=e.lang) for e in test])
    outcomes = [
        Outcome(
            example=e,
            sentiment=r.sentiment.label.value if r.sentiment and not r.unscored else UNSCORED,
            topics=tuple(Topic(t).value for t, _ in r.topics),
            language=detected[e.id],
        )
        for e, r in zip(test, results, strict=True)
    ]
    langid_all = [Outcome(e, sentiment="", topics=(), language=detected[e.id]) for e in examples]
    meta = {
        "command": COMMAND,
        "model_version": classifier.model_version,
        # The precision and device a deployment runs at change the vectors a little.
        "encoder": getattr(classifier.encoder, "identity", classifier.encoder.name),
        "examples_file": _display_path(examples_path),
        "examples_sha256": hashlib.sha256(raw).hexdigest(),
        "examples": {"train": len(examples) - len(test), "test": len(test)},
        "topic_threshold": nlp.topic_threshold,
        "tags": list(TAGS),
        "scored_languages": sorted(nlp.scored_languages),
        "unscored_languages": sorted(set(nlp.languages) - set(nlp.scored_languages)),
    }
    return build_report(outcomes, langid_all, meta)


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=DEFAULT_EXAMPLES)
    parser.add_argument("--output-dir", type=Path, default=Path("docs/eval"))
    args = parser.parse_args(argv)
    settings = ClassifierSettings().nlp.model_copy(update={"examples_path": args.examples})
    classifier = build_classifier(settings, calibrated=False)
    report = evaluate(classifier, args.examples, settings)
    _, md_path = write_report(report, args.output_dir, REPORT_NAME)
    overall = report["test"]["all"]
    summary = {
        "model_version": report["model_version"],
        "sentiment_macro_f1": overall["sentiment_macro_f1"],
        "primary_topic_accuracy": overall["primary_topic_accuracy"],
        "language_id_accuracy": report["language_id"]["test"]["all"]["accuracy"],
        "written": str(md_path),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
