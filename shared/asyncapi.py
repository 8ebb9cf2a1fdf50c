"""The AsyncAPI 3.0 document of the pipeline's topics: who sends and receives what, with headers.

Payloads point at the JSON Schema files of `shared.event_schemas`; `shared.schema_export` writes
the document to `schemas/asyncapi.yaml`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from shared.event_schemas import schema_file
from shared.events import (
    DLQ_TOPIC,
    EnrichedFeedbackEvent,
    Envelope,
    Feedback,
    FetchPendingEvent,
    RawFeedbackEvent,
    SourceKind,
)
from shared.ids import feedback_id_for
from shared.kafka import event_headers

# The AsyncAPI parsers know JSON Schema draft-07 as an external format; our schemas use nothing
# that draft-07 reads differently ($defs is resolved as a plain JSON pointer).
PAYLOAD_FORMAT = "application/schema+json;version=draft-07"
KAFKA_BINDING = "0.5.0"

# Who is on which end of each topic. Services cannot be imported from shared/, so the names and
# consumer groups are stated here; the topics themselves come from the event classes.
RAW_PRODUCERS: dict[SourceKind, str] = {
    SourceKind.survey: "surveys",
    SourceKind.ticket: "tickets",
    SourceKind.review: "reviews",
    SourceKind.social: "social",
}
CLASSIFIER, METRICS = "classifier", "metrics"
SERVICES_WITH_DLQ = (CLASSIFIER, METRICS)

# Every header shared.kafka.event_headers writes must be described here: export fails otherwise.
CE_HEADERS: dict[str, dict[str, Any]] = {
    "ce_specversion": {"description": "CloudEvents specification version."},
    "ce_id": {"format": "uuid", "description": "The envelope's event_id."},
    "ce_type": {"description": "The envelope's type."},
    "ce_source": {"description": "The envelope's producer: the service that wrote the event."},
    "ce_time": {"format": "date-time", "description": "The envelope's produced_at."},
    "content-type": {"description": "Media type of the value."},
}
CONSTANT_HEADERS = ("ce_specversion", "content-type")

# Written by shared.consumer.KafkaRunner._dead_letter on top of the record's own headers.
DLQ_HEADERS: dict[str, dict[str, Any]] = {
    "dlq_reason": {
        "description": "Why the record was rejected: 'undecodable' (not JSON), 'invalid' (JSON "
        "that is not a valid event) or a reason a handler gave."
    },
    "dlq_error": {"description": "The error: what failed to validate, or the handler's message."},
    "dlq_source_topic": {"description": "Topic the record was consumed from."},
    "dlq_source_partition": {"pattern": "^[0-9]+$", "description": "Its partition (decimal)."},
    "dlq_source_offset": {"pattern": "^[0-9]+$", "description": "Its offset (decimal)."},
    "dlq_consumer_group": {"description": "Consumer group that rejected it."},
    "dlq_failed_at": {"format": "date-time", "description": "When it was dead-lettered (UTC)."},
}


def _sample_event() -> RawFeedbackEvent:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    data = Feedback(
        feedback_id=feedback_id_for("schema-export", "0"),
        source_kind=SourceKind.survey,
        source="schema-export",
        source_id="0",
        revision="0",
        revision_rank=0,
        occurred_at=epoch,
        received_at=epoch,
    )
    return RawFeedbackEvent.wrap(data, producer="schema-export")


def _ce_headers_schema(event: type[Envelope]) -> dict[str, Any]:  # type: ignore[type-arg]
    written = dict(event_headers(_sample_event()))
    if set(written) != set(CE_HEADERS):
        raise RuntimeError(
            f"shared.kafka.event_headers writes {sorted(written)}; describe exactly those in "
            "shared.asyncapi.CE_HEADERS"
        )
    props = {name: {"type": "string", **spec} for name, spec in CE_HEADERS.items()}
    for name in CONSTANT_HEADERS:
        props[name]["const"] = written[name].decode()
    props["ce_type"]["const"] = event.TYPE
    return {"type": "object", "required": sorted(props), "properties": props}


def _dlq_headers_schema() -> dict[str, Any]:
    props = {name: {"type": "string", **spec} for name, spec in CE_HEADERS.items()}
    props.update({name: {"type": "string", **spec} for name, spec in DLQ_HEADERS.items()})
    return {
        "type": "object",
        "description": "The rejected record's own headers (ce_* when it had them) plus dlq_*.",
        "required": sorted(DLQ_HEADERS),
        "properties": props,
    }


def _channel_id(topic: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", topic)


def _message(event: type[Envelope]) -> dict[str, Any]:  # type: ignore[type-arg]
    return {
        "name": event.__name__,
        "title": event.__name__,
        "summary": (event.__doc__ or "").strip().splitlines()[0],
        "contentType": "application/json",
        "correlationId": {"location": "$message.payload#/correlation_id"},
        "headers": _ce_headers_schema(event),
        "payload": {"schemaFormat": PAYLOAD_FORMAT, "schema": {"$ref": f"./{schema_file(event)}"}},
        "bindings": {
            "kafka": {
                "bindingVersion": KAFKA_BINDING,
                "key": {
                    "type": "string",
                    "format": "uuid",
                    "description": "data.feedback_id, so every version of one item lands on one "
                    "partition, in order.",
                },
            }
        },
    }


def _dlq_message() -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "DeadLetter",
        "summary": "A record a consumer could not use, byte for byte as it was consumed.",
        "contentType": "application/octet-stream",
        "headers": _dlq_headers_schema(),
        "payload": {
            "description": "The rejected record's value, unchanged: usually a JSON event, "
            "possibly not JSON at all."
        },
        "bindings": {
            "kafka": {
                "bindingVersion": KAFKA_BINDING,
                "key": {"type": "string", "description": "The rejected record's key, unchanged."},
            }
        },
    }


def _operation(
    service: str, action: str, topic: str, message: str, summary: str, group: str | None = None
) -> tuple[str, dict[str, Any]]:
    cid = _channel_id(topic)
    op: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{cid}"},
        "messages": [{"$ref": f"#/channels/{cid}/messages/{message}"}],
        "summary": summary,
        "tags": [{"name": service}],
    }
    if action == "receive":
        op["bindings"] = {
            "kafka": {
                "bindingVersion": KAFKA_BINDING,
                "groupId": {"type": "string", "enum": [group or service]},
            }
        }
    return f"{service}_{action}_{cid}", op


def asyncapi() -> dict[str, Any]:
    raw, enriched = RawFeedbackEvent.__name__, EnrichedFeedbackEvent.__name__
    channels: dict[str, Any] = {}

    def channel(topic: str, message: str, description: str) -> None:
        channels[_channel_id(topic)] = {
            "address": topic,
            "description": description,
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
            "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING, "topic": topic}},
        }

    ops = []
    for kind in SourceKind:
        topic = RawFeedbackEvent.topic_for(kind)
        channel(topic, raw, f"Feedback of kind '{kind.value}' as ingested.")
        ops.append(_operation(RAW_PRODUCERS[kind], "send", topic, raw, "Publish accepted items."))
        ops.append(_operation(CLASSIFIER, "receive", topic, raw, "Classify raw feedback."))
    pending = FetchPendingEvent.__name__
    channel(
        FetchPendingEvent.TOPIC, pending, "Vendor webhook envelopes waiting for their fetch step."
    )
    for service in RAW_PRODUCERS.values():
        ops.append(_operation(service, "send", FetchPendingEvent.TOPIC, pending, "Queue a fetch."))
        ops.append(
            _operation(
                service,
                "receive",
                FetchPendingEvent.TOPIC,
                pending,
                "Fetch details.",
                group=f"{service}-fetch",
            )
        )
    channel(EnrichedFeedbackEvent.TOPIC, enriched, "Classified feedback, every source kind.")
    channel(DLQ_TOPIC, "DeadLetter", "Poison records; read by operators, not by the pipeline.")
    ops += [
        _operation(CLASSIFIER, "send", EnrichedFeedbackEvent.TOPIC, enriched, "Publish enriched."),
        _operation(METRICS, "receive", EnrichedFeedbackEvent.TOPIC, enriched, "Store scores."),
        *(_operation(s, "send", DLQ_TOPIC, "DeadLetter", "Reject.") for s in SERVICES_WITH_DLQ),
    ]

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "VoC pipeline events",
            "version": "1.0.0",
            "description": "Kafka topics of the Voice-of-the-Customer pipeline. Generated from "
            "shared/events.py by `python -m shared.schema_export`; do not edit. Every event is "
            "at-least-once: consumers dedupe by event_id (= ce_id).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "compose": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "The broker of docker-compose.yml.",
            }
        },
        "channels": channels,
        "operations": dict(ops),
        "components": {
            "messages": {
                raw: _message(RawFeedbackEvent),
                enriched: _message(EnrichedFeedbackEvent),
                pending: _message(FetchPendingEvent),
                "DeadLetter": _dlq_message(),
            }
        },
    }
