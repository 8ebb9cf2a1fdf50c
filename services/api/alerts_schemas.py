"""Response models of GET /v1/alerts: each alert with both windows' figures and its webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

AlertStatus = Literal["open", "resolved"]
NotificationStatus = Literal["pending", "delivered", "failed", "skipped"]


class AlertWindow(BaseModel):
    start: datetime = Field(description="Inclusive (hourly bucket start).")
    end: datetime = Field(description="Exclusive.")
    value: float | None = Field(description="The metric in this window; null when n = 0.")
    n: int = Field(description="Answers to this metric in the window (employee surveys left out).")


class AlertFigures(BaseModel):
    """The comparison as it stood when the alert opened."""

    window_value: float | None = Field(
        description="The metric in the window, in its usual units; null when window_n = 0."
    )
    window_n: int = Field(
        description="Answers to the metric in the window (employee surveys left out)."
    )
    baseline_value: float | None = Field(
        description="The metric in the baseline; null when baseline_n = 0."
    )
    baseline_n: int = Field(description="Answers to the metric in the baseline.")
    difference: float | None = Field(
        description="window_value − baseline_value; null when either n = 0."
    )
    ci_low: float | None = Field(
        description="Two-sided interval of the difference at `level`, lower end; null when "
        "either n < 2."
    )
    ci_high: float | None = Field(description="Upper end of the difference's interval.")
    statistic: float | None = Field(
        description="The test statistic (`test`): z, or Welch's t; negative for a drop; null "
        "when either n < 2 or the spread is zero."
    )
    p_value: float | None = Field(
        description="One-sided p of a drop at least this large if nothing changed."
    )


class AlertNotification(BaseModel):
    id: UUID = Field(description="The delivery id (`X-VoC-Delivery`), the same on every retry.")
    event: Literal["opened", "resolved"] = Field(description="The alert change it announces.")
    status: NotificationStatus = Field(
        description="pending (to be sent or retried), delivered (2xx), failed (given up or "
        "refused), skipped (the team has no webhook)."
    )
    attempts: int = Field(description="Delivery tries made so far; 0 when skipped.")
    last_status_code: int | None = Field(description="HTTP status of the last try; null if none.")
    created_at: datetime = Field(
        description="When the alert change wrote it, in the same transaction."
    )
    finished_at: datetime | None = Field(
        description="When it became delivered, failed or skipped; null while pending."
    )


class AlertItem(BaseModel):
    id: UUID = Field(description="The alert: one per episode of a drop at a touchpoint.")
    touchpoint: str = Field(description="The touchpoint whose metric dropped.")
    metric: str = Field(description="nps, csat, ces, stars or sentiment.")
    team: str = Field(description="Owning team from the journey catalog (`unowned` if none).")
    status: AlertStatus = Field(
        description="open while the drop lasts; resolved once it is no longer significant."
    )
    test: str = Field(description="two_sample_z, two_proportion_z or welch_t.")
    level: float = Field(description="Level of the one-sided test that opened the alert.")
    min_n: int = Field(description="Least answers each window needed to open or resolve it.")
    window: AlertWindow = Field(description="The recent window (latest evaluation).")
    baseline: AlertWindow = Field(description="The trailing baseline just before the window.")
    difference: float | None = Field(description="window − baseline, in the metric's units.")
    ci_low: float | None = Field(description="Two-sided interval of the difference at `level`.")
    ci_high: float | None = Field(description="Upper end of that interval.")
    statistic: float | None = Field(description="z or Welch t.")
    p_value: float | None = Field(
        description="One-sided p of a drop at least this large if nothing changed."
    )
    opened_at: datetime = Field(description="When the evaluation that opened it ran.")
    last_evaluated_at: datetime = Field(
        description="Latest evaluation that saw it open (figures are from it); for a resolved "
        "alert, the evaluation that resolved it."
    )
    resolved_at: datetime | None = Field(
        description="When the evaluation that resolved it ran; null while open."
    )
    at_open: AlertFigures = Field(
        description="The figures when it opened: what the `opened` webhook said."
    )
    notification_status: NotificationStatus | None = Field(
        description="Status of the latest webhook notification; null when none was written."
    )
    notifications: list[AlertNotification] = Field(description="Oldest first.")


class AlertsPage(BaseModel):
    items: list[AlertItem] = Field(description="Newest first (by opened_at, then id).")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
