"""Webhook kit: vendor deliveries in, the same canonical items as `/v1/...` out. Plumbing only.

Every ingestion service serves `POST /v1/webhooks/{vendor}` (and `GET`/`HEAD` for vendors that
make a challenge or URL check) over the adapters it registers:

    create_ingest_app(settings, kind=..., router=router,
                      webhooks=WebhookKit(adapters=[TypeformAdapter(...), ...],
                                          to_feedback=to_feedback))

Per delivery the kit does, in this order: unknown vendor → 404 `unknown_vendor`; no secret in
`VOC_WEBHOOK_SECRET_<VENDOR>` → 404 `vendor_disabled`; Content-Type not one the adapter accepts
→ 415; broker not connected → 503; body over `webhooks.max_body_bytes` → 413; `verify` → 401
with a reason (counted in `voc_<service>_webhook_auth_failures_total{vendor,reason}`); the
vendor's token bucket → 429 + Retry-After; `parse` → 422 naming the field; map and publish →
202 once the broker acknowledged (503 + Retry-After if it does not).

Adding a vendor is adding one module with one `WebhookAdapter` subclass:

    class AcmeAdapter(WebhookAdapter):
        vendor = "acme"                                # URL segment, `source`, secret name
        media_types = JSON_TYPES                       # or FORM_TYPES
        fetches = False                                # True: envelope only, see below

        def verify(self, delivery: Delivery, secret: str) -> None:
            # Over the raw bytes, before parsing; raise AuthFailure(reason) when it fails.
            verify_signature(delivery.headers.get("x-acme-signature"), secret=secret,
                             message=delivery.body, algorithm="sha256", encoding="hex",
                             prefix="sha256=")

        def parse(self, delivery: Delivery) -> Sequence[Item]:
            body = validate(AcmePayload, delivery.json())   # 422 names the vendor's field
            return [SurveyResponse(source=self.vendor, source_id=body.id,
                                   occurred_at=to_utc(body.created), revision=..., nps=...)]

`parse` returns, per item of the delivery, one of:
- the service's canonical request model (`SurveyResponse`, `TicketIn`, ...) with `source` =
  the vendor, `source_id` = the vendor's id of the item and `revision` = its version (usually
  `revision_of(updated_at)`), so a re-delivery gets the same event_id and an update a newer one.
  It is validated by that model and mapped by the service's own `to_feedback`, exactly as on
  `/v1/...`; a value that does not fit (nps 11) is a 422 whose loc starts with `mapped`;
- `Deletion(source_id, revision, occurred_at)`: a tombstone (`deleted: true`) that removes the
  item from the scores;
- `FetchRequest(source_id, delivery_id, params)`: envelope-only vendors. The webhook answers 202
  once the envelope is on `voc.fetch.pending.v1`; the service's fetch worker then calls
  `adapter.fetch(client, pending)` (a `VendorClient` with base URL and token from
  `<SVC>_WEBHOOKS__FETCH__<VENDOR>__BASE_URL` / `__TOKEN`, rate-limited and retried) and
  publishes what it returns. A fetch that fails for good is dead-lettered to `voc.dlq.v1`;
  `python -m shared.ingest.webhooks.replay` puts such envelopes back (docs/adr/0004);
- `Ignored(reason)`: a genuine delivery we do not score (partial response, unsubscribe).

The vendor's raw payload travels in `metadata["raw"]` of every item (the whole delivery unless
the adapter set its own, e.g. one element of a batch, or `{"webhook", "fetched"}` after a
fetch). Optional hooks: `handshake` (GET/HEAD answer, e.g. `crc_response_token` for X),
`fetch_headers` (how the vendor API takes the token; Bearer by default).

Helpers: `signatures` (HMAC SHA1/256/512 in hex or base64 with prefixes, timestamp ‖ body with
a replay window, Bearer/Basic tokens), `timestamps` (RFC 3339 with nanoseconds, Unix s/ms,
`{seconds, nanos}`, zone-less strings → UTC), `validate` (vendor models, 422 naming fields).
"""

from shared.ingest.webhooks.adapter import (
    FORM_TYPES,
    JSON_TYPES,
    Deletion,
    Delivery,
    FetchRequest,
    Ignored,
    Item,
    WebhookAdapter,
    load_json,
    validate,
)
from shared.ingest.webhooks.fetch import FetchFailed, VendorClient
from shared.ingest.webhooks.pending import FetchPendingEvent, PendingFetch
from shared.ingest.webhooks.signatures import (
    AuthFailure,
    check_timestamp,
    crc_response_token,
    sign,
    verify_signature,
    verify_timestamped_signature,
    verify_token,
)
from shared.ingest.webhooks.timestamps import UtcDatetime, revision_of, to_utc

__all__ = [
    "FORM_TYPES",
    "JSON_TYPES",
    "AuthFailure",
    "Deletion",
    "Delivery",
    "FetchFailed",
    "FetchPendingEvent",
    "FetchRequest",
    "Ignored",
    "Item",
    "PendingFetch",
    "UtcDatetime",
    "VendorClient",
    "WebhookAdapter",
    "check_timestamp",
    "crc_response_token",
    "load_json",
    "revision_of",
    "sign",
    "to_utc",
    "validate",
    "verify_signature",
    "verify_timestamped_signature",
    "verify_token",
]
