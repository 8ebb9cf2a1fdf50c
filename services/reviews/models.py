"""The canonical review accepted by `POST /v1/reviews`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.ingest import IngestItem, ShortStr


class ReviewIn(IngestItem):
    """A star rating with an optional title and body, from a review platform."""

    platform: ShortStr | None = Field(default=None, description="e.g. 'trustpilot', 'app_store'.")
    stars: Annotated[int, Field(ge=1, le=5)]
    # title + blank line + body always fits the contract's 20 000-character text.
    title: Annotated[str, Field(max_length=1_000)] | None = None
    body: Annotated[str, Field(max_length=18_000)] | None = None
    product_id: ShortStr | None = None
