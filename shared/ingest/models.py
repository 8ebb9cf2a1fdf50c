"""Request fields every source kind shares, and the 202 answer.

Each service's request model subclasses `IngestItem`; limits mirror the `shared.events.Feedback`
contract so a valid request always maps to a valid event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events import Customer
from shared.ids import revision_rank

# ids.py joins source, source id and revision with a control character, so none may carry one.
SourceStr = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        description="Source system, e.g. 'typeform', 'zendesk' or 'trustpilot'.",
    ),
]
SourceIdStr = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The item's own id in the source system.",
    ),
]
RevisionStr = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
ShortStr = Annotated[str, Field(max_length=256)]
# Downstream stores revision_rank as a signed 64-bit integer.
RANK_MIN, RANK_MAX = -(2**63), 2**63 - 1


def _as_utc(value: datetime | None) -> datetime | None:
    # Sources that send local times without an offset are taken to mean UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class IngestItem(BaseModel):
    """Fields common to every source kind; unknown fields are rejected, so typos surface."""

    model_config = ConfigDict(extra="forbid")

    source: SourceStr
    source_id: SourceIdStr
    occurred_at: datetime = Field(description="When the customer gave the feedback (ISO 8601).")
    revision: RevisionStr | Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="Version of the item; defaults to updated_at, then '0'."
    )
    updated_at: datetime | None = Field(
        default=None, description="When the source last changed the item."
    )
    customer: Customer | None = None
    touchpoint: ShortStr | None = Field(
        default=None, description="Touchpoint hint, e.g. 'checkout'."
    )
    channel: ShortStr | None = None
    language: ShortStr | None = Field(default=None, description="Language hint, e.g. 'en'.")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @field_validator("revision")
    @classmethod
    def _rank_fits(cls, value: str | int | None) -> str | int | None:
        if value is not None and not RANK_MIN <= revision_rank(str(value)) <= RANK_MAX:
            raise ValueError("revision is out of range for a 64-bit version number")
        return value

    def revision_text(self) -> str:
        """The revision as the item's identity uses it: explicit, else updated_at, else '0'."""
        if self.revision is not None:
            return str(self.revision)
        if self.updated_at is not None:
            return self.updated_at.isoformat()
        return "0"


class Accepted(BaseModel):
    """Every item was acknowledged by the broker."""

    accepted: int = Field(description="Number of items accepted.")
    event_ids: list[UUID] = Field(description="Event id of each item, in request order.")
