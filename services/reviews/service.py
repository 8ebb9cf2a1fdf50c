"""Review → canonical Feedback."""

from __future__ import annotations

from datetime import datetime

from services.reviews.models import ReviewIn
from shared.events import Feedback, ReviewPart, SourceKind
from shared.ingest import build_feedback, join_text


def to_feedback(item: ReviewIn, received_at: datetime) -> Feedback:
    return build_feedback(
        item,
        SourceKind.review,
        received_at=received_at,
        text=join_text(item.title, item.body),
        review=ReviewPart(
            stars=item.stars,
            platform=item.platform,
            product_id=item.product_id,
            title=item.title,
        ),
    )
