"""The canonical help-desk ticket accepted by `POST /v1/tickets`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.ingest import IngestItem, ShortStr


class TicketIn(IngestItem):
    """A support ticket: its text, triage fields, the customer's CSAT and service times."""

    # subject + blank line + body always fits the contract's 20 000-character text.
    subject: Annotated[str, Field(max_length=1_000)] | None = None
    body: Annotated[str, Field(max_length=18_000)] | None = None
    status: ShortStr | None = Field(default=None, description="e.g. 'open', 'solved'.")
    priority: ShortStr | None = None
    tags: list[ShortStr] = Field(default_factory=list, max_length=100)
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    first_response_seconds: Annotated[float, Field(ge=0)] | None = None
    resolution_seconds: Annotated[float, Field(ge=0)] | None = None
