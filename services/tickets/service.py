"""Ticket → canonical Feedback."""

from __future__ import annotations

from datetime import datetime

from services.tickets.models import TicketIn
from shared.events import Feedback, SourceKind, TicketPart
from shared.ingest import build_feedback, join_text


def to_feedback(item: TicketIn, received_at: datetime) -> Feedback:
    metadata = dict(item.metadata)
    if item.tags:
        # Touchpoint rules match on metadata["tags"] whatever the source kind.
        metadata["tags"] = list(item.tags)
    return build_feedback(
        item,
        SourceKind.ticket,
        received_at=received_at,
        text=join_text(item.subject, item.body),
        metadata=metadata,
        ticket=TicketPart(
            status=item.status,
            priority=item.priority,
            tags=item.tags,
            csat=item.csat,
            first_response_seconds=item.first_response_seconds,
            resolution_seconds=item.resolution_seconds,
        ),
    )
