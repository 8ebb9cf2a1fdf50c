"""Deterministic identities (DESIGN.md "Events").

`feedback_id` names an item: UUIDv5 of (source system, source id). `event_id` names one version of
it: UUIDv5 of (source system, source id, revision). A re-delivered version gets the same event_id,
so every consumer can treat it as a no-op.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid5

# Fixed forever: changing it would re-key every stored item.
VOC_NAMESPACE = UUID("6f1c2a8e-3b57-5d0e-9a43-1c7f0e2b9d64")
_SEP = "\x1f"  # unit separator: cannot appear in ids we accept, so parts never run together


def feedback_id_for(source: str, source_id: str) -> UUID:
    return uuid5(VOC_NAMESPACE, _SEP.join((source, source_id)))


def event_id_for(source: str, source_id: str, revision: str) -> UUID:
    return uuid5(VOC_NAMESPACE, _SEP.join((source, source_id, revision)))


def revision_rank(revision: str) -> int:
    """Orderable form of a source's revision string; a higher rank is a newer version.

    Integers (a version counter) rank as themselves; ISO-8601 timestamps (an updated-at) rank as
    microseconds since the epoch; anything else ranks 0, and ties are broken downstream by the
    time we received the version.
    """
    text = revision.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp() * 1_000_000)
