"""HTTP routes of the tickets ingestion service."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.tickets.models import TicketIn
from services.tickets.service import to_feedback
from shared.ingest import INGEST_RESPONSES, Accepted, IngestorDep, json_body

router = APIRouter(prefix="/v1", tags=["tickets"])


@router.post(
    "/tickets",
    status_code=202,
    response_model=Accepted,
    responses=INGEST_RESPONSES,
    openapi_extra=json_body(TicketIn),
)
async def submit_tickets(request: Request, ingestor: IngestorDep) -> Accepted:
    """Accept one ticket or an array of them; 202 once the broker has them all."""
    return await ingestor.ingest(request, TicketIn, to_feedback)
