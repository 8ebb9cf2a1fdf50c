"""Response models of `GET /v1/drivers`: per topic, the metric with and without it, and impact."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DriverSide(BaseModel):
    value: float | None = Field(
        description="The metric over these answers, in its usual units; null when n = 0."
    )
    n: int = Field(
        description="Customer answers to the metric: every driver metric leaves employee-survey "
        "answers out."
    )
    ci_low: float | None = Field(
        description="Lower end of the value's interval at `level`, clipped to the scale: NPS "
        "value ± z × 100 × √((p + d − (p − d)²) / n), CSAT Wilson, means Student's t (null when "
        "n < 2); null when n = 0."
    )
    ci_high: float | None = Field(description="Upper end of the value's interval at `level`.")
    low_confidence: bool = Field(description="True when n is below min_n.")


class DriverItem(BaseModel):
    topic: str = Field(description="The topic label.")
    n: int = Field(
        description="Feedback items carrying the topic (any of their labels), every audience "
        "(employee-survey answers included), as the page's n."
    )
    share: float | None = Field(
        description="n / the page's n: the fraction (0–1, not %) of feedback carrying the topic. "
        "A fact with several topics counts for each, so shares add up to more than 1."
    )
    metric_share: float | None = Field(
        description="with_topic.n / overall.n: the fraction (0–1) of the metric's (customer) "
        "answers that carry the topic; null when overall.n = 0."
    )
    with_topic: DriverSide = Field(
        description="The metric over the customer answers with the topic."
    )
    without_topic: DriverSide = Field(
        description="The metric over all other customer answers (all − with, from additive parts)."
    )
    difference: float | None = Field(
        description="with_topic.value − without_topic.value; null when either n = 0."
    )
    ci_low: float | None = Field(
        description="Lower end of the difference's interval at `level`; null when either n < 2."
    )
    ci_high: float | None = Field(description="Upper end of the difference's interval.")
    statistic: float | None = Field(
        description="z (NPS, CSAT) or Welch t (CES, stars, sentiment); null when undefined."
    )
    df: float | None = Field(description="Welch–Satterthwaite degrees of freedom (t tests only).")
    p_value: float | None = Field(description="Two-sided p-value of 'no difference'.")
    significant: bool = Field(description="p_value < 1 − level.")
    impact: float | None = Field(
        description="metric_share × (without_topic.value − with_topic.value): how many points "
        "the overall value would rise if the topic's answers scored like the rest. Positive: "
        "the topic drags the score down by that much; negative: it lifts it. Null when "
        "difference is null."
    )
    impact_ci_low: float | None = Field(
        description="metric_share × −ci_high: the difference's interval carried to impact."
    )
    impact_ci_high: float | None = Field(description="metric_share × −ci_low.")
    low_confidence: bool = Field(description="True when either side's n is below min_n.")


class DriversPage(BaseModel):
    metric: str = Field(description="The metric asked for.")
    test: str = Field(
        description="two_sample_z (NPS: trinomial variance), two_proportion_z (CSAT) or welch_t "
        "(CES, stars, sentiment)."
    )
    level: float = Field(description="Confidence level of the intervals and the tests.")
    from_: datetime = Field(serialization_alias="from", description="Window start, inclusive.")
    to: datetime = Field(description="Window end, exclusive.")
    filters: dict[str, str] = Field(description="The filters applied (touchpoint, …).")
    min_n: int = Field(description="Sides with n below this are flagged low_confidence.")
    n: int = Field(
        description="Feedback items in the window and filters, each counted once, every audience "
        "(employee-survey answers included)."
    )
    overall: DriverSide = Field(
        description="The metric over all customer answers in the window (employee surveys left "
        "out)."
    )
    items: list[DriverItem] = Field(
        description="One per topic seen in the window (items without topics are not a topic), "
        "by impact, largest first (null impact last), then topic."
    )
