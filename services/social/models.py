"""The canonical social post accepted by `POST /v1/posts`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.events import Engagement
from shared.ingest import IngestItem, ShortStr


class PostIn(IngestItem):
    """A public post or mention found by social listening."""

    platform: ShortStr | None = Field(default=None, description="e.g. 'x', 'instagram'.")
    author: ShortStr | None = Field(default=None, description="The author's handle.")
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    url: Annotated[str, Field(max_length=2_048)] | None = None
    engagement: Engagement = Field(default_factory=Engagement)
    reach: Annotated[int, Field(ge=0)] | None = None
