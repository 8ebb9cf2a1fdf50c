"""Vendor timestamps in every shape they come in, normalised to aware UTC datetimes.

Vendors send RFC 3339 with up to nanoseconds (`2024-05-01T10:00:00.123456789Z`), Unix seconds
or milliseconds (as numbers or digit strings), protobuf-style `{"seconds", "nanos"}` objects, and
zone-less local strings (`2019-06-26 13:28:11`), which are taken to mean UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

# Below this a number is Unix seconds, above it milliseconds: 1e11 s is the year 5138, while
# 1e11 ms is 1973, earlier than any feedback a vendor will send us.
_MILLIS_FROM = 100_000_000_000
_FRACTION = re.compile(r"(\.\d{6})\d+")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def from_unix(value: float, *, unit: str = "auto") -> datetime:
    """Unix `value` in seconds (`unit="s"`), milliseconds (`"ms"`) or guessed by size."""
    millis = unit == "ms" or (unit == "auto" and abs(value) >= _MILLIS_FROM)
    seconds = value / 1000 if millis else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"Unix time out of range: {value!r}") from exc


def parse_rfc3339(text: str) -> datetime:
    """RFC 3339 / ISO 8601 text; fractions beyond microseconds are truncated, no zone is UTC."""
    cleaned = _FRACTION.sub(r"\1", text.strip())
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise ValueError(f"not a timestamp: {text!r}") from exc
    return as_utc(moment)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_utc(value: Any) -> datetime:
    """Any vendor timestamp as an aware UTC datetime; ValueError when it is none of the shapes."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        return from_unix(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            return from_unix(float(text))
        return parse_rfc3339(text)
    if isinstance(value, Mapping) and "seconds" in value:
        try:
            seconds = int(value["seconds"])
            nanos = int(value.get("nanos") or 0)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not a timestamp: {value!r}") from exc
        return from_unix(seconds, unit="s") + timedelta(microseconds=nanos // 1000)
    raise ValueError(f"not a timestamp: {value!r}")


def revision_of(value: Any) -> str:
    """A vendor's updated-at as a revision string: ISO 8601 UTC, so revisions rank by time."""
    return to_utc(value).isoformat()


# For vendor models: a field that accepts any of the shapes above and holds UTC.
UtcDatetime = Annotated[datetime, BeforeValidator(to_utc)]
