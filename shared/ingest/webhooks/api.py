"""`/v1/webhooks/{vendor}`: thin routes over the service's WebhookReceiver."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from shared.http import ErrorBody
from shared.ingest.webhooks.receiver import WebhookAccepted, WebhookReceiver


def get_receiver(request: Request) -> WebhookReceiver:
    receiver: WebhookReceiver = request.app.state.webhooks
    return receiver


ReceiverDep = Annotated[WebhookReceiver, Depends(get_receiver)]

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
_NOT_FOUND = {"model": ErrorBody, "description": "Unknown vendor, or vendor disabled (no secret)."}
POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Every item was acknowledged by the broker, or queued for its fetch."},
    401: {
        "model": ErrorBody,
        "description": "Signature or token missing or wrong; detail is the reason "
        "(missing_signature, bad_signature, stale_timestamp, missing_token, bad_token).",
    },
    404: _NOT_FOUND,
    413: {"model": ErrorBody, "description": "Body over the webhook size limit."},
    415: {"model": ErrorBody, "description": "Content-Type is not one the vendor sends."},
    422: {"model": ErrorBody, "description": "A required vendor field is missing or invalid."},
    429: {
        "model": ErrorBody,
        "description": "Over the vendor's rate limit.",
        "headers": _RETRY_AFTER,
    },
    503: {
        "model": ErrorBody,
        "description": "The broker did not acknowledge in time; nothing was accepted.",
        "headers": _RETRY_AFTER,
    },
}
HANDSHAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The vendor's challenge answered, or its URL check passed."},
    404: _NOT_FOUND,
    405: {"model": ErrorBody, "description": "The vendor makes no GET/HEAD handshake."},
}
# Each vendor has its own body; the adapter validates it and names missing fields in a 422.
VENDOR_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    }
}


def webhook_router() -> APIRouter:
    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

    @router.post(
        "/{vendor}",
        status_code=202,
        response_model=WebhookAccepted,
        responses=POST_RESPONSES,
        openapi_extra=VENDOR_BODY,
    )
    async def receive_webhook(vendor: str, request: Request, receiver: ReceiverDep) -> Any:
        """Accept one signed delivery from a vendor; 202 once its items are acknowledged."""
        return await receiver.receive(request, vendor)

    @router.get("/{vendor}", responses=HANDSHAKE_RESPONSES)
    async def webhook_challenge(vendor: str, request: Request, receiver: ReceiverDep) -> Response:
        """Answer a vendor's GET challenge (e.g. X's CRC) or URL check."""
        return await receiver.handshake(request, vendor)

    @router.head("/{vendor}", responses=HANDSHAKE_RESPONSES)
    async def webhook_url_check(vendor: str, request: Request, receiver: ReceiverDep) -> Response:
        """Answer a vendor's HEAD check that the URL exists (e.g. SurveyMonkey's)."""
        return await receiver.handshake(request, vendor)

    return router
