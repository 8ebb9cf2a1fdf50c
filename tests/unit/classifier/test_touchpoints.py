from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.classifier.touchpoints import TouchpointResolver, normalise
from services.metrics import remap
from services.metrics.models import fact_from_event
from shared.events import (
    EnrichedFeedback,
    EnrichedFeedbackEvent,
    Feedback,
    JourneyStage,
    SourceKind,
    TicketPart,
)
from shared.ids import feedback_id_for
from shared.journey import load_journey, parse_journey

CATALOG = """
version: 1
touchpoints:
  - {name: website, stage: consideration, team: digital}
  - {name: mobile_app, stage: consideration, team: mobile}
  - {name: checkout, stage: conversion, team: ecommerce}
  - {name: delivery, stage: retention, team: logistics}
  - {name: billing, stage: retention, team: finance}
  - {name: customer_support, stage: retention, team: care}
  - {name: brand, stage: loyalty, team: cx}
rules:
  - name: checkout_form
    match: {source_kind: survey, metadata: {form_id: [checkout, cart]}}
    touchpoint: checkout
  - name: in_app
    match: {channel: [in_app, ios]}
    touchpoint: mobile_app
  - name: billing_tags
    match: {tags: [invoice, refund]}
    touchpoint: billing
  - name: vip_web
    match: {source: typeform, channel: web, metadata: {plan: vip}}
    touchpoint: website
topic_touchpoints:
  delivery: delivery
  pricing: checkout
default_touchpoint:
  overall: brand
  by_source_kind: {ticket: customer_support}
"""


def feedback(kind: SourceKind = SourceKind.survey, **fields: Any) -> Feedback:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    source = fields.pop("source", "typeform")
    return Feedback(
        feedback_id=feedback_id_for(source, "r-1"),
        source_kind=kind,
        source=source,
        source_id="r-1",
        revision="1",
        revision_rank=1,
        occurred_at=now,
        received_at=now,
        **fields,
    )


@pytest.fixture(scope="module")
def resolver() -> TouchpointResolver:
    return TouchpointResolver(parse_journey(CATALOG))


class TestNormalise:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Mobile App", "mobile_app"),
            (" customer-support ", "customer_support"),
            ("CHECKOUT", "checkout"),
            ("web/site", "web_site"),
        ],
    )
    def test_free_text_label_becomes_catalog_name(self, raw: str, expected: str) -> None:
        assert normalise(raw) == expected


class TestTouchpointResolver:
    def test_explicit_catalog_touchpoint_wins_over_rules_and_topics(
        self, resolver: TouchpointResolver
    ) -> None:
        fb = feedback(touchpoint="Delivery", channel="in_app")
        got = resolver.resolve(fb, ["pricing"])
        assert (got.touchpoint, got.stage, got.rule) == (
            "delivery",
            JourneyStage.retention,
            "explicit",
        )

    def test_explicit_touchpoint_outside_catalog_falls_through_to_rules(
        self, resolver: TouchpointResolver
    ) -> None:
        got = resolver.resolve(feedback(touchpoint="drone_pad", channel="ios"), ["delivery"])
        assert (got.touchpoint, got.rule) == ("mobile_app", "rule:in_app")

    def test_metadata_rule_matches_form_id_as_text(self, resolver: TouchpointResolver) -> None:
        got = resolver.resolve(feedback(metadata={"form_id": "Cart"}), ["delivery"])
        assert (got.touchpoint, got.stage, got.rule) == (
            "checkout",
            JourneyStage.conversion,
            "rule:checkout_form",
        )

    def test_rule_needs_every_condition(self, resolver: TouchpointResolver) -> None:
        ticket = feedback(SourceKind.ticket, metadata={"form_id": "checkout"})
        got = resolver.resolve(ticket, [])
        assert got.rule == "default"

    def test_first_matching_rule_in_file_order_wins(self, resolver: TouchpointResolver) -> None:
        fb = feedback(channel="in_app", ticket=TicketPart(tags=["refund"]))
        assert resolver.resolve(fb).rule == "rule:in_app"

    def test_ticket_tags_match_any_of(self, resolver: TouchpointResolver) -> None:
        fb = feedback(SourceKind.ticket, ticket=TicketPart(tags=["urgent", "Invoice"]))
        got = resolver.resolve(fb, ["delivery"])
        assert (got.touchpoint, got.rule) == ("billing", "rule:billing_tags")

    def test_metadata_tags_list_counts_as_tags(self, resolver: TouchpointResolver) -> None:
        got = resolver.resolve(feedback(metadata={"tags": ["refund"]}))
        assert got.rule == "rule:billing_tags"

    def test_source_channel_and_metadata_combine(self, resolver: TouchpointResolver) -> None:
        hit = resolver.resolve(feedback(channel="WEB", metadata={"plan": "vip"}))
        miss = resolver.resolve(feedback(channel="web", metadata={"plan": "free"}))
        assert hit.rule == "rule:vip_web"
        assert miss.rule == "default"

    def test_primary_topic_decides_when_no_rule_matches(self, resolver: TouchpointResolver) -> None:
        got = resolver.resolve(feedback(channel="email"), ["pricing", "delivery"])
        assert (got.touchpoint, got.stage, got.rule) == (
            "checkout",
            JourneyStage.conversion,
            "topic:pricing",
        )

    def test_unmapped_primary_topic_yields_to_the_next_one(
        self, resolver: TouchpointResolver
    ) -> None:
        got = resolver.resolve(feedback(), ["other", "delivery"])
        assert (got.touchpoint, got.rule) == ("delivery", "topic:delivery")

    def test_source_kind_default_without_any_signal(self, resolver: TouchpointResolver) -> None:
        got = resolver.resolve(feedback(SourceKind.ticket), ["other"])
        assert (got.touchpoint, got.stage, got.rule) == (
            "customer_support",
            JourneyStage.retention,
            "default",
        )

    def test_overall_default_for_kind_without_its_own(self, resolver: TouchpointResolver) -> None:
        got = resolver.resolve(feedback(SourceKind.social))
        assert (got.touchpoint, got.stage, got.rule) == ("brand", JourneyStage.loyalty, "default")


@pytest.fixture(scope="module")
def packaged() -> TouchpointResolver:
    return TouchpointResolver(load_journey())


class TestPackagedCatalogResolution:
    def test_checkout_survey_form_maps_to_checkout(self, packaged: TouchpointResolver) -> None:
        got = packaged.resolve(feedback(metadata={"form_id": "checkout_csat"}), ["delivery"])
        assert (got.touchpoint, got.rule) == ("checkout", "rule:checkout_form")

    @pytest.mark.parametrize(
        ("topic", "touchpoint"),
        [
            ("delivery", "delivery"),
            ("billing", "billing"),
            ("pricing", "checkout"),
            ("customer_support", "customer_support"),
            ("usability", "website"),
            ("returns", "returns"),
            ("product_quality", "product"),
        ],
    )
    def test_topic_maps_to_its_touchpoint(
        self, packaged: TouchpointResolver, topic: str, touchpoint: str
    ) -> None:
        got = packaged.resolve(feedback(SourceKind.review, source="trustpilot"), [topic])
        assert (got.touchpoint, got.rule) == (touchpoint, f"topic:{topic}")


def stored_fields(fb: Feedback) -> Any:
    """The fact the metrics writer would store for `fb`, as the remap reads it back."""
    enrichment = {
        "touchpoint": "brand",
        "journey_stage": "loyalty",
        "touchpoint_rule": "default",
        "model_version": "t",
    }
    event = EnrichedFeedbackEvent.wrap(
        EnrichedFeedback.model_validate({**fb.model_dump(), "enrichment": enrichment}),
        producer="classifier",
    )
    return remap.item_fields(fact_from_event(event))


class TestStoredFactResolvesLikeTheLiveItem:
    """The remap re-resolves facts; a fact must resolve as its item did at classification."""

    @pytest.mark.parametrize(
        "fields",
        [
            {"touchpoint": "Delivery", "channel": "in_app"},
            {"touchpoint": "drone_pad", "channel": "ios"},
            {"metadata": {"form_id": "Cart"}},
            {"metadata": {"tags": ["refund"]}},
            {"channel": "WEB", "metadata": {"plan": "vip"}},
            {"channel": None},
        ],
    )
    def test_same_resolution_from_the_stored_fields(
        self, resolver: TouchpointResolver, fields: dict[str, Any]
    ) -> None:
        fb = feedback(**fields)
        live = resolver.resolve(fb, ["pricing"])
        assert resolver.journey.resolve(stored_fields(fb), ["pricing"]) == live
