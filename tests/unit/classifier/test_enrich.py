from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.classifier import service
from services.classifier.nlp.pipeline import SentimentScore, TextResult
from services.classifier.touchpoints import TouchpointResolver
from shared.events import (
    Customer,
    EnrichedFeedbackEvent,
    Feedback,
    JourneyStage,
    SentimentLabel,
    SourceKind,
    SurveyPart,
    Topic,
)
from shared.ids import feedback_id_for
from shared.journey import parse_journey

CATALOG = """
version: 1
touchpoints:
  - {name: checkout, stage: conversion, team: ecommerce}
  - {name: delivery, stage: retention, team: logistics}
  - {name: brand, stage: loyalty, team: cx}
rules:
  - {name: checkout_form, match: {metadata: {form_id: checkout}}, touchpoint: checkout}
topic_touchpoints: {delivery: delivery}
default_touchpoint: brand
"""
MODEL = "e5-test+heads-abc"


def feedback(**fields: Any) -> Feedback:
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    return Feedback(
        feedback_id=feedback_id_for("typeform", "r-1"),
        source_kind=SourceKind.survey,
        source="typeform",
        source_id="r-1",
        revision="2",
        revision_rank=2,
        occurred_at=now,
        received_at=now,
        **fields,
    )


def scored(
    *,
    topics: tuple[tuple[Topic, float], ...] = ((Topic.delivery, 0.9),),
    sentiment: SentimentScore | None = None,
    redacted: str = "Late parcel, call me at [PHONE]",
) -> TextResult:
    return TextResult(
        language="en",
        language_confidence=0.97,
        redacted_text=redacted,
        sentiment=sentiment or SentimentScore(SentimentLabel.negative, -0.8, 0.85),
        topics=topics,
    )


@pytest.fixture(scope="module")
def resolver() -> TouchpointResolver:
    return TouchpointResolver(parse_journey(CATALOG))


def enrich(fb: Feedback, result: TextResult | None, resolver: TouchpointResolver) -> Any:
    return service.enrich(fb, result, resolver=resolver, model_version=MODEL)


class TestPlanBatch:
    def test_only_live_items_with_text_go_to_the_model(self) -> None:
        items = [
            feedback(text="Great"),
            feedback(text=None, survey=SurveyPart(nps=9)),
            feedback(text="   "),
            feedback(text="Gone", deleted=True),
            feedback(text="Slow"),
        ]
        plan = service.plan_batch(items)
        assert plan.positions == [0, 4]
        assert [i.text for i in plan.inputs] == ["Great", "Slow"]

    def test_language_hint_falls_back_to_customer_locale(self) -> None:
        plan = service.plan_batch(
            [
                feedback(text="Bra", customer=Customer(locale="sv-SE")),
                feedback(text="Bra", language_hint="no", customer=Customer(locale="sv-SE")),
            ]
        )
        assert [i.language_hint for i in plan.inputs] == ["sv-SE", "no"]


class TestEnrich:
    def test_original_text_is_dropped_and_redacted_text_kept(
        self, resolver: TouchpointResolver
    ) -> None:
        got = enrich(feedback(text="Late parcel, call me at +46 70 123 45 67"), scored(), resolver)
        assert got.text is None
        assert got.enrichment.redacted_text == "Late parcel, call me at [PHONE]"
        assert "+46" not in got.model_dump_json()

    def test_raw_fields_are_carried_over_unchanged(self, resolver: TouchpointResolver) -> None:
        fb = feedback(text="x", survey=SurveyPart(nps=3), metadata={"order": "A-1"}, channel="web")
        got = enrich(fb, scored(), resolver)
        assert got.model_dump(exclude={"text", "enrichment"}) == fb.model_dump(exclude={"text"})

    def test_vendor_raw_payload_stays_on_the_raw_topic(self, resolver: TouchpointResolver) -> None:
        raw = {"answers": [{"text": "mail me at ann@example.com"}]}
        fb = feedback(text="x", metadata={"raw": raw, "form_id": "F1"})
        got = enrich(fb, scored(), resolver)
        assert got.metadata == {"form_id": "F1"}
        assert "ann@example.com" not in got.model_dump_json()

    def test_sentiment_language_topics_and_model_are_recorded(
        self, resolver: TouchpointResolver
    ) -> None:
        result = scored(topics=((Topic.pricing, 0.7), (Topic.delivery, 0.6)))
        e = enrich(feedback(text="x"), result, resolver).enrichment
        assert (e.language, e.language_confidence) == ("en", 0.97)
        assert e.sentiment is not None
        assert (e.sentiment.label, e.sentiment.score, e.sentiment.confidence) == (
            SentimentLabel.negative, -0.8, 0.85,
        )  # fmt: skip
        assert [(t.label, t.score) for t in e.topics] == [
            (Topic.pricing, 0.7), (Topic.delivery, 0.6),
        ]  # fmt: skip
        assert e.model_version == MODEL
        assert (e.unscored, e.unscored_reason) == (False, None)

    def test_topics_decide_the_touchpoint_in_order(self, resolver: TouchpointResolver) -> None:
        result = scored(topics=((Topic.pricing, 0.7), (Topic.delivery, 0.6)))
        e = enrich(feedback(text="x"), result, resolver).enrichment
        assert (e.touchpoint, e.journey_stage, e.touchpoint_rule) == (
            "delivery", JourneyStage.retention, "topic:delivery",
        )  # fmt: skip

    def test_rule_beats_topic_and_is_recorded(self, resolver: TouchpointResolver) -> None:
        fb = feedback(text="x", metadata={"form_id": "checkout"})
        e = enrich(fb, scored(), resolver).enrichment
        assert (e.touchpoint, e.journey_stage, e.touchpoint_rule) == (
            "checkout", JourneyStage.conversion, "rule:checkout_form",
        )  # fmt: skip

    def test_explicit_touchpoint_is_recorded_as_explicit(
        self, resolver: TouchpointResolver
    ) -> None:
        e = enrich(feedback(text="x", touchpoint="Brand"), scored(), resolver).enrichment
        assert (e.touchpoint, e.touchpoint_rule) == ("brand", "explicit")

    def test_unsupported_language_is_unscored_with_the_pipeline_reason(
        self, resolver: TouchpointResolver
    ) -> None:
        result = TextResult(
            language="tr",
            language_confidence=0.9,
            redacted_text="Kargo geç geldi",
            unscored=True,
            unscored_reason="unsupported_language:tr",
        )
        e = enrich(feedback(text="Kargo geç geldi"), result, resolver).enrichment
        assert e.sentiment is None
        assert (e.unscored, e.unscored_reason) == (True, "unsupported_language:tr")
        assert (e.language, e.redacted_text) == ("tr", "Kargo geç geldi")
        assert (e.touchpoint, e.touchpoint_rule) == ("brand", "default")

    def test_item_without_text_is_unscored_but_placed(self, resolver: TouchpointResolver) -> None:
        fb = feedback(survey=SurveyPart(nps=10), metadata={"form_id": "checkout"})
        e = enrich(fb, None, resolver).enrichment
        assert (e.unscored, e.unscored_reason) == (True, service.NO_TEXT)
        assert (e.touchpoint, e.touchpoint_rule) == ("checkout", "rule:checkout_form")
        assert e.language is None
        assert e.topics == []

    def test_deleted_item_is_unscored_as_deleted(self, resolver: TouchpointResolver) -> None:
        e = enrich(feedback(text="bye", deleted=True), None, resolver).enrichment
        assert (e.unscored, e.unscored_reason) == (True, service.DELETED)
        assert e.redacted_text is None

    def test_scores_a_hair_out_of_range_are_clamped(self, resolver: TouchpointResolver) -> None:
        result = scored(
            topics=((Topic.delivery, 1.0000001),),
            sentiment=SentimentScore(SentimentLabel.positive, 1.0000002, 1.0000001),
        )
        e = enrich(feedback(text="x"), result, resolver).enrichment
        assert e.topics[0].score == 1.0
        assert e.sentiment is not None
        assert (e.sentiment.score, e.sentiment.confidence) == (1.0, 1.0)

    def test_topic_outside_the_contract_is_a_validation_error(
        self, resolver: TouchpointResolver
    ) -> None:
        result = scored(topics=(("weather", 0.9),))  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            enrich(feedback(text="x"), result, resolver)

    def test_enriched_item_wraps_into_an_event_with_the_raw_event_id(
        self, resolver: TouchpointResolver
    ) -> None:
        got = enrich(feedback(text="x"), scored(), resolver)
        event = EnrichedFeedbackEvent.wrap(got, producer="classifier", correlation_id="c-1")
        roundtrip = EnrichedFeedbackEvent.model_validate_json(event.model_dump_json())
        assert roundtrip.data.enrichment.touchpoint == "delivery"
        assert event.key() == str(got.feedback_id).encode()
        assert event.correlation_id == "c-1"
