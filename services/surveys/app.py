"""App factory of the surveys ingestion service."""

from __future__ import annotations

from fastapi import FastAPI

from services.surveys.adapters.delighted import DelightedAdapter
from services.surveys.adapters.qualtrics import QualtricsAdapter
from services.surveys.adapters.surveymonkey import SurveyMonkeyAdapter
from services.surveys.adapters.typeform import TypeformAdapter
from services.surveys.api import router
from services.surveys.service import to_feedback
from services.surveys.settings import SurveysSettings
from shared.events import SourceKind
from shared.ingest import WebhookKit, create_ingest_app
from shared.ingest.webhooks import WebhookAdapter


def build_adapters(settings: SurveysSettings) -> list[WebhookAdapter]:
    """The survey vendors this service takes webhooks from; each is off until its secret is set."""
    return [
        TypeformAdapter(settings.typeform_forms),
        SurveyMonkeyAdapter(settings.surveymonkey_surveys),
        QualtricsAdapter(settings.qualtrics_surveys),
        DelightedAdapter(survey_type=settings.delighted_survey_type),
    ]


def create_app(settings: SurveysSettings | None = None) -> FastAPI:
    settings = settings or SurveysSettings()
    return create_ingest_app(
        settings,
        kind=SourceKind.survey,
        router=router,
        webhooks=WebhookKit(adapters=build_adapters(settings), to_feedback=to_feedback),
    )
