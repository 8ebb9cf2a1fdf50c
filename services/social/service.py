"""Social post → canonical Feedback."""

from __future__ import annotations

from datetime import datetime

from services.social.models import PostIn
from shared.events import Feedback, SocialPart, SourceKind
from shared.ingest import build_feedback

DEFAULT_CHANNEL = "social"


def to_feedback(item: PostIn, received_at: datetime) -> Feedback:
    return build_feedback(
        item,
        SourceKind.social,
        received_at=received_at,
        text=item.text,
        channel=item.channel or DEFAULT_CHANNEL,
        social=SocialPart(
            platform=item.platform,
            author=item.author,
            url=item.url,
            reach=item.reach,
            engagement=item.engagement,
        ),
    )
