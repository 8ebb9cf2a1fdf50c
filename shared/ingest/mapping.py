"""Common part of mapping a request item to canonical `Feedback`; services add their own part."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events import Customer, Feedback, SourceKind
from shared.ids import feedback_id_for, revision_rank
from shared.ingest.models import IngestItem


def join_text(*parts: str | None) -> str | None:
    """Non-empty parts separated by a blank line, or None when there is nothing to say."""
    present = [p for p in parts if p and p.strip()]
    return "\n\n".join(present) if present else None


def build_feedback(
    item: IngestItem,
    kind: SourceKind,
    *,
    received_at: datetime,
    text: str | None = None,
    channel: str | None = None,
    metadata: dict[str, Any] | None = None,
    **parts: Any,
) -> Feedback:
    """`Feedback` for `item` with identity, revision and common fields filled in.

    `channel` and `metadata` override the item's own; `parts` are the kind-specific blocks
    (`survey=`, `ticket=`, `review=`, `social=`).
    """
    revision = item.revision_text()
    return Feedback(
        feedback_id=feedback_id_for(item.source, item.source_id),
        source_kind=kind,
        source=item.source,
        source_id=item.source_id,
        revision=revision,
        revision_rank=revision_rank(revision),
        occurred_at=item.occurred_at,
        received_at=received_at,
        customer=item.customer or Customer(),
        touchpoint=item.touchpoint,
        channel=channel if channel is not None else item.channel,
        text=text,
        language_hint=item.language,
        metadata=metadata if metadata is not None else dict(item.metadata),
        **parts,
    )
