"""Touchpoint resolution for a live feedback item: explicit -> mapping rules -> topic -> default.

The semantics live in shared.journey (`Journey.resolve`), shared with the metrics service's
remap of stored facts; this module only says which fields of a Feedback the catalog sees.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.events import Feedback
from shared.journey import ItemFields, Journey, Resolution, normalise

__all__ = ["Resolution", "TouchpointResolver", "item_fields", "normalise"]


def item_fields(feedback: Feedback) -> ItemFields:
    """The fields resolution reads. A stored fact keeps all but the ticket's own tags, which the
    tickets service also copies to metadata["tags"], so a remap sees them too."""
    return ItemFields(
        source_kind=feedback.source_kind.value,
        source=feedback.source,
        channel=feedback.channel,
        touchpoint_hint=feedback.touchpoint,
        tags=tuple(feedback.ticket.tags) if feedback.ticket else (),
        metadata=feedback.metadata,
    )


class TouchpointResolver:
    """Resolves feedback items against one journey catalog."""

    def __init__(self, journey: Journey) -> None:
        self.journey = journey

    def resolve(self, feedback: Feedback, topics: Sequence[str] = ()) -> Resolution:
        """The touchpoint for `feedback`, given its classified topics (primary first)."""
        return self.journey.resolve(item_fields(feedback), topics)
