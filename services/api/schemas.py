"""Response models of the BI API. Every score block carries its n; values are null when n = 0."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared.events import SentimentLabel


def _low_confidence() -> Any:
    return Field(description="True when this metric's n is below min_n.")


class NpsScore(BaseModel):
    value: float | None = Field(description="100 × (promoters − detractors) / n; null when n = 0.")
    n: int = Field(
        description="Answers with an NPS score (0–10): customer answers for nps, employee for enps."
    )
    moe: float | None = Field(
        description="95% margin of error in NPS points: 1.96 × 100 × √((p + d − (p − d)²) / n)."
    )
    ci_low: float | None = Field(description="value − moe, clipped to −100.")
    ci_high: float | None = Field(description="value + moe, clipped to 100.")
    promoters: int = Field(description="Answers 9–10.")
    passives: int = Field(description="Answers 7–8.")
    detractors: int = Field(description="Answers 0–6.")
    low_confidence: bool = _low_confidence()


class CsatScore(BaseModel):
    value: float | None = Field(description="% of answers 4–5 on the 1–5 scale.")
    n: int = Field(
        description="CSAT answers (1–5): a survey's, else its ticket's; employee surveys left out."
    )
    moe: float | None = Field(
        description="95% normal-approximation margin of error, percentage points."
    )
    ci_low: float | None = Field(description="95% Wilson score interval, lower end (%).")
    ci_high: float | None = Field(description="95% Wilson score interval, upper end (%).")
    mean: float | None = Field(description="Mean answer, 1–5.")
    low_confidence: bool = _low_confidence()


class CesScore(BaseModel):
    value: float | None = Field(description="Mean answer, 1–7 (higher = easier).")
    n: int = Field(description="Survey answers with a CES (1–7); employee surveys left out.")
    moe: float | None = Field(
        description="Half-width of the 95% t-interval of the mean (df = n − 1); null when n < 2."
    )
    ci_low: float | None = Field(description="value − moe, clipped to 1.")
    ci_high: float | None = Field(description="value + moe, clipped to 7.")
    share_easy: float | None = Field(description="% of answers 5–7.")
    low_confidence: bool = _low_confidence()


class StarsScore(BaseModel):
    value: float | None = Field(description="Mean star rating, 1–5.")
    n: int = Field(
        description="Star ratings (1–5): a review's, else a survey's stars answer; employee "
        "surveys left out."
    )
    moe: float | None = Field(
        description="Half-width of the 95% t-interval of the mean; null when n < 2."
    )
    ci_low: float | None = Field(description="value − moe, clipped to 1.")
    ci_high: float | None = Field(description="value + moe, clipped to 5.")
    low_confidence: bool = _low_confidence()


class SentimentScore(BaseModel):
    value: float | None = Field(description="100 × mean sentiment score (−100..100).")
    n: int = Field(
        description="Items with a sentiment score; items the classifier left unscored and "
        "employee-survey answers are not counted."
    )
    moe: float | None = Field(
        description="Half-width of the 95% t-interval, index points; null when n < 2."
    )
    ci_low: float | None = Field(description="value − moe, clipped to −100.")
    ci_high: float | None = Field(description="value + moe, clipped to 100.")
    negative_share: float | None = Field(description="% of items with negative sentiment.")
    low_confidence: bool = _low_confidence()


class _Scores(BaseModel):
    n: int = Field(
        description="Feedback items counted, every audience (employee-survey answers included)."
    )
    nps: NpsScore = Field(description="NPS over customer (non-employee) surveys.")
    csat: CsatScore = Field(
        description="CSAT over surveys and tickets that carry one, employee surveys left out."
    )
    ces: CesScore = Field(
        description="Customer Effort Score over survey answers, employee surveys left out."
    )
    stars: StarsScore = Field(
        description="Star rating over reviews and survey stars answers, employee surveys left out."
    )
    sentiment: SentimentScore = Field(
        description="Sentiment index over the scored items, employee-survey answers left out."
    )
    enps: NpsScore = Field(description="Employee NPS, over employee-audience surveys only.")
    low_confidence: bool = Field(
        description="True when the item's n is below the configured minimum (min_n)."
    )


class ScoreItem(_Scores):
    bucket_start: datetime | None = Field(
        description="Start of the time bucket, with the offset of `tz`; null for granularity=total."
    )
    group: dict[str, str | None] = Field(
        description="The group_by dimensions and their values; null where the value is unknown. "
        "With group_by=topic, `topic` is a topic label, or null for facts without topics; a "
        "fact with several topics counts in each of their groups."
    )


class ScoresPage(BaseModel):
    items: list[ScoreItem] = Field(description="Ordered by bucket_start, then the group values.")
    min_n: int = Field(description="Items with n below this are flagged low_confidence.")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class TouchpointItem(_Scores):
    touchpoint: str | None = Field(
        description="The touchpoint's name; null for facts stored without a touchpoint."
    )
    journey_stage: str | None = Field(
        description="Its stage from the catalog; for a touchpoint seen only in the data, the "
        "stage most of its facts carry (null if unknown)."
    )
    team: str | None = Field(description="Owning team from the catalog; null if not catalogued.")


class TouchpointsPage(BaseModel):
    items: list[TouchpointItem] = Field(
        description="All-time scores per touchpoint: the catalog's touchpoints in catalog order "
        "(n = 0 when they have no data), then touchpoints seen only in the data, by name."
    )


class SentimentOut(BaseModel):
    label: SentimentLabel = Field(description="negative, neutral or positive.")
    score: float | None = Field(description="−1..1.")
    confidence: float | None = Field(description="0..1.")


class TopicOut(BaseModel):
    label: str = Field(description="The topic label, e.g. delivery or billing.")
    score: float | None = Field(
        description="The classifier's confidence in the topic, 0..1; null if none was stored."
    )


class FeedbackItem(BaseModel):
    feedback_id: UUID = Field(
        description="The item's id: UUIDv5 of (source, source_id), the same in every revision."
    )
    source_kind: str = Field(description="survey, ticket, review or social.")
    source: str = Field(description="Source system, e.g. 'typeform' or 'api'.")
    source_id: str = Field(description="The item's id in the source system.")
    occurred_at: datetime = Field(description="When the feedback was given, per the source.")
    touchpoint: str | None = Field(
        description="The touchpoint it was resolved to (see /v1/journey); null if unknown."
    )
    journey_stage: str | None = Field(description="That touchpoint's stage; null if unknown.")
    channel: str | None = Field(description="Channel from the source; null if it gave none.")
    segment: str | None = Field(description="The customer's segment; null if the source gave none.")
    language: str | None = Field(description="Detected language, ISO 639-1; null if unknown.")
    text: str | None = Field(description="The text with PII redacted.")
    sentiment: SentimentOut | None = Field(
        description="The classifier's sentiment; null when the item has none."
    )
    topics: list[TopicOut] = Field(description="Primary topic first.")
    nps: int | None = Field(
        description="The 0–10 NPS answer (eNPS for an employee survey); null if none."
    )
    csat: int | None = Field(
        description="The 1–5 CSAT answer (a survey's, else its ticket's); null if none."
    )
    ces: int | None = Field(description="The 1–7 CES answer (higher = easier); null if none.")
    stars: int | None = Field(
        description="The 1–5 star rating (a review's, else a survey's); null if none."
    )
    model_version: str = Field(description="Version of the classifier model that enriched it.")


class FeedbackPage(BaseModel):
    items: list[FeedbackItem] = Field(
        description="In the requested `order`: newest first, or lowest sentiment score first."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class CompareSide(BaseModel):
    value: float | None = Field(description="The metric in this window; null when n = 0.")
    n: int = Field(
        description="Answers to this metric in the window (customer answers; eNPS: employee)."
    )
    low_confidence: bool = Field(description="True when n is below min_n.")


class CompareItem(BaseModel):
    group: dict[str, str | None] = Field(description="The group_by dimensions and their values.")
    current: CompareSide = Field(description="The metric in the current window.")
    previous: CompareSide = Field(description="The metric in the previous window.")
    difference: float | None = Field(
        description="current − previous, in the metric's units; null when a side has n = 0."
    )
    ci_low: float | None = Field(
        description="Lower end of the difference's interval at `level`; null when a side has n < 2."
    )
    ci_high: float | None = Field(description="Upper end of the difference's interval.")
    statistic: float | None = Field(
        description="z (NPS, CSAT) or Welch t (CES, stars, sentiment); null when undefined."
    )
    df: float | None = Field(description="Welch–Satterthwaite degrees of freedom (t tests only).")
    p_value: float | None = Field(description="Two-sided p-value of 'no difference'.")
    significant: bool = Field(description="p_value < 1 − level.")
    low_confidence: bool = Field(description="True when either side's n is below min_n.")


class ComparePage(BaseModel):
    metric: str = Field(
        description="The metric asked for: nps, enps, csat, ces, stars or sentiment."
    )
    test: str = Field(
        description="two_sample_z (NPS, eNPS: trinomial variance), two_proportion_z (CSAT) or "
        "welch_t (CES, stars, sentiment)."
    )
    level: float = Field(description="Confidence level of the intervals and the tests.")
    current_from: datetime = Field(
        description="Current window start, inclusive, in UTC, as applied (defaults filled in)."
    )
    current_to: datetime = Field(description="Current window end, exclusive, in UTC.")
    previous_from: datetime = Field(description="Previous window start, inclusive, in UTC.")
    previous_to: datetime = Field(description="Previous window end, exclusive, in UTC.")
    min_n: int = Field(description="Sides with n below this are flagged low_confidence.")
    items: list[CompareItem] = Field(description="One per group seen in either window, by group.")


class JourneyTouchpoint(BaseModel):
    name: str = Field(description="The touchpoint, as scores, feedback and filters name it.")
    stage: str = Field(description="The journey stage the touchpoint belongs to.")
    team: str = Field(description="The team that owns it (alert routing, ownership).")


class JourneyRuleMatch(BaseModel):
    """Conditions on an item's source fields; null means not a condition. All given must hold,
    a list matches any of its values, and comparisons ignore case."""

    source_kind: list[str] | None = Field(
        description="The item's source kind is any of these (survey, ticket, review, social)."
    )
    source: list[str] | None = Field(description="The item's source system is any of these.")
    channel: list[str] | None = Field(description="The item's channel is any of these.")
    tags: list[str] | None = Field(description="The item carries any of these tags.")
    metadata: dict[str, list[str]] | None = Field(
        description="Metadata key -> accepted values, compared as text."
    )


class JourneyRule(BaseModel):
    name: str = Field(description="Recorded on each fact it decides as `rule:<name>`.")
    match: JourneyRuleMatch = Field(description="What an item must match for the rule to apply.")
    touchpoint: str = Field(description="The touchpoint the rule gives a matching item.")


class JourneyDefault(BaseModel):
    overall: str = Field(description="The touchpoint when nothing else decides.")
    by_source_kind: dict[str, str] = Field(description="Source kind -> its own fallback.")


class JourneyOut(BaseModel):
    version: int = Field(description="Catalog format version.")
    resolution_order: list[str] = Field(
        description="How an item gets its touchpoint, first that applies wins: the source's own "
        "touchpoint if catalogued (`explicit`), the first matching rule in order (`rule:<name>`), "
        "the first mapped topic, primary first (`topic:<label>`), the default (`default`)."
    )
    stages: list[str] = Field(description="Journey stages in journey order.")
    touchpoints: list[JourneyTouchpoint] = Field(description="In catalog order.")
    rules: list[JourneyRule] = Field(description="In the order they are tried.")
    topic_touchpoints: dict[str, str] = Field(description="Topic label -> touchpoint.")
    default_touchpoint: JourneyDefault = Field(
        description="The fallback when neither the source, a rule nor a topic decides."
    )
