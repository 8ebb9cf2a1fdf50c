"""Survey response → canonical Feedback."""

from __future__ import annotations

from datetime import datetime

from services.surveys.models import SurveyResponse
from shared.events import Feedback, SourceKind, SurveyPart
from shared.ingest import build_feedback, join_text


def to_feedback(item: SurveyResponse, received_at: datetime) -> Feedback:
    return build_feedback(
        item,
        SourceKind.survey,
        received_at=received_at,
        text=join_text(item.comment),
        survey=SurveyPart(
            nps=item.nps,
            csat=item.csat,
            ces=item.ces,
            stars=item.stars,
            survey_type=item.survey_type,
            audience=item.audience,
        ),
    )
