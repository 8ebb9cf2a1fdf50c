"""Settings of the surveys ingestion service (env prefix `SURVEYS_`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.surveys.adapters.scores import SurveyMapping
from shared.ingest import IngestSettings
from shared.settings import HttpSettings


class SurveysSettings(IngestSettings):
    model_config = SettingsConfigDict(
        env_prefix="SURVEYS_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "surveys"
    http: HttpSettings = Field(default_factory=lambda: HttpSettings(port=8001))
    typeform_forms: dict[str, SurveyMapping] = Field(
        default_factory=dict, description="Typeform form id → where its scores are (JSON)."
    )
    surveymonkey_surveys: dict[str, SurveyMapping] = Field(
        default_factory=dict, description="SurveyMonkey survey id → question/choice mapping."
    )
    qualtrics_surveys: dict[str, SurveyMapping] = Field(
        default_factory=dict, description="Qualtrics SurveyID → response value keys (QID1...)."
    )
    delighted_survey_type: Literal["relationship", "transactional"] = "relationship"
