"""The four kinds an import can target: which ingestion service, which endpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # as on the command line, and the service's name
    path: str  # the canonical ingestion endpoint
    default_port: int  # as `make run` serves it (README)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("surveys", "/v1/responses", 8001),
        Kind("tickets", "/v1/tickets", 8002),
        Kind("reviews", "/v1/reviews", 8003),
        Kind("social", "/v1/posts", 8004),
    )
}
