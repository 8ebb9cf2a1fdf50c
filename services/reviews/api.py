"""HTTP routes of the reviews ingestion service."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.reviews.models import ReviewIn
from services.reviews.service import to_feedback
from shared.ingest import INGEST_RESPONSES, Accepted, IngestorDep, json_body

router = APIRouter(prefix="/v1", tags=["reviews"])


@router.post(
    "/reviews",
    status_code=202,
    response_model=Accepted,
    responses=INGEST_RESPONSES,
    openapi_extra=json_body(ReviewIn),
)
async def submit_reviews(request: Request, ingestor: IngestorDep) -> Accepted:
    """Accept one review or an array of them; 202 once the broker has them all."""
    return await ingestor.ingest(request, ReviewIn, to_feedback)
