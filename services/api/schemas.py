"""Response models of the BI API. Every score block carries its n; values are null when n = 0."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from shared.events import SentimentLabel


class NpsScore(BaseModel):
    value: float | None = Field(description="100 × (promoters − detractors) / n; null when n = 0.")
    n: int = Field(description="Answers with an NPS score (0–10).")
    moe: float | None = Field(description="95% margin of error, in NPS points.")
    promoters: int = Field(description="Answers 9–10.")
    passives: int = Field(description="Answers 7–8.")
    detractors: int = Field(description="Answers 0–6.")


class CsatScore(BaseModel):
    value: float | None = Field(description="% of answers 4–5 on the 1–5 scale.")
    n: int
    moe: float | None = Field(description="95% margin of error, in percentage points.")
    mean: float | None = Field(description="Mean answer, 1–5.")


class CesScore(BaseModel):
    value: float | None = Field(description="Mean answer, 1–7 (higher = easier).")
    n: int
    share_easy: float | None = Field(description="% of answers 5–7.")


class StarsScore(BaseModel):
    value: float | None = Field(description="Mean star rating, 1–5.")
    n: int


class SentimentScore(BaseModel):
    value: float | None = Field(description="100 × mean sentiment score (−100..100).")
    n: int
    negative_share: float | None = Field(description="% of items with negative sentiment.")


class _Scores(BaseModel):
    n: int = Field(description="Feedback items counted.")
    nps: NpsScore = Field(description="NPS over customer (non-employee) surveys.")
    csat: CsatScore
    ces: CesScore
    stars: StarsScore
    sentiment: SentimentScore
    enps: NpsScore = Field(description="Employee NPS, over employee-audience surveys only.")
    low_confidence: bool = Field(description="True when n is below the configured minimum.")


class ScoreItem(_Scores):
    bucket_start: datetime | None = Field(
        description="Start of the time bucket (UTC); null for granularity=total."
    )
    group: dict[str, str | None] = Field(
        description="The group_by dimensions and their values; null where the value is unknown."
    )


class ScoresPage(BaseModel):
    items: list[ScoreItem]
    min_n: int = Field(description="Items with n below this are flagged low_confidence.")


class TouchpointItem(_Scores):
    touchpoint: str | None
    journey_stage: str | None
    team: str | None = Field(description="Owning team from the catalog; null if not catalogued.")


class TouchpointsPage(BaseModel):
    items: list[TouchpointItem]


class SentimentOut(BaseModel):
    label: SentimentLabel
    score: float | None = Field(description="−1..1.")
    confidence: float | None = Field(description="0..1.")


class TopicOut(BaseModel):
    label: str
    score: float | None


class FeedbackItem(BaseModel):
    feedback_id: UUID
    source_kind: str
    source: str
    source_id: str
    occurred_at: datetime
    touchpoint: str | None
    journey_stage: str | None
    channel: str | None
    segment: str | None
    language: str | None
    text: str | None = Field(description="The text with PII redacted.")
    sentiment: SentimentOut | None
    topics: list[TopicOut] = Field(description="Primary topic first.")
    nps: int | None
    csat: int | None
    ces: int | None
    stars: int | None
    model_version: str


class FeedbackPage(BaseModel):
    items: list[FeedbackItem] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
