"""HTTP routes of the surveys ingestion service."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.surveys.models import SurveyResponse
from services.surveys.service import to_feedback
from shared.ingest import INGEST_RESPONSES, Accepted, IngestorDep, json_body

router = APIRouter(prefix="/v1", tags=["surveys"])


@router.post(
    "/responses",
    status_code=202,
    response_model=Accepted,
    responses=INGEST_RESPONSES,
    openapi_extra=json_body(SurveyResponse),
)
async def submit_responses(request: Request, ingestor: IngestorDep) -> Accepted:
    """Accept one survey response or an array of them; 202 once the broker has them all."""
    return await ingestor.ingest(request, SurveyResponse, to_feedback)
