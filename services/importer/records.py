"""What a format reader yields: one record per row or vendor item, and its identity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.ids import event_id_for

Item = dict[str, Any]  # a canonical request item, as the ingestion endpoint takes it

_DATETIME = TypeAdapter(datetime)


@dataclass(frozen=True)
class Record:
    """One row of the file: a canonical item to send, or why there is none.

    `where` locates it for humans ("line 12", "reviews[3] (reviewId gp:AO…)"); `line` is the
    file's line number where one makes sense.
    """

    where: str
    line: int | None = None
    item: Item | None = None
    error: str | None = None  # unreadable or unmappable: rejected without sending
    skip: str | None = None  # not feedback (a deleted comment, a developer reply): ignored

    @classmethod
    def at_line(cls, line: int, **kw: Any) -> Record:
        return cls(where=f"line {line}", line=line, **kw)


def revision_of(item: Item) -> str | None:
    """The revision the service will give `item`: explicit, else updated_at in UTC, else "0".

    Mirrors the contract (README "Delivery semantics"); None when updated_at is not a time, in
    which case the service rejects the item anyway.
    """
    revision = item.get("revision")
    if revision is not None:
        return str(revision)
    updated = item.get("updated_at")
    if updated is None:
        return "0"
    try:
        ts = _DATETIME.validate_python(updated)
    except ValidationError:
        return None
    # Zone-less times are UTC to the service; aware ones keep their offset in the revision.
    return (ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)).isoformat()


def identity(item: Item) -> bytes | None:
    """The event id `item` will get (source, source_id, revision), or None if it has none yet."""
    source, source_id = item.get("source"), item.get("source_id")
    revision = revision_of(item)
    if not isinstance(source, str) or not isinstance(source_id, str) or revision is None:
        return None
    return event_id_for(source, source_id, revision).bytes
