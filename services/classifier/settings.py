"""Classifier settings: env prefix CLASSIFIER_, nested blocks (CLASSIFIER_KAFKA__..., _NLP__...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.classifier.nlp.settings import NlpSettings
from shared.events import EnrichedFeedbackEvent, RawFeedbackEvent
from shared.settings import BaseServiceSettings, HttpSettings, KafkaSettings


class ClassifierHttpSettings(HttpSettings):
    # A side port for /healthz, /readyz and /metrics only; the classifier serves no API.
    port: int = 9101


class ClassifierSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLASSIFIER_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "classifier"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    http: ClassifierHttpSettings = Field(default_factory=ClassifierHttpSettings)
    nlp: NlpSettings = Field(default_factory=NlpSettings)

    group_id: str = "classifier"
    # In the environment a comma-separated list or JSON: CLASSIFIER_INPUT_TOPICS=a.v1,b.v1
    input_topics: Annotated[list[str], NoDecode] = Field(
        default_factory=RawFeedbackEvent.topics, min_length=1
    )
    output_topic: str = EnrichedFeedbackEvent.TOPIC
    # Records per consumed batch, all classified in one pipeline call. On two CPU cores long
    # texts run at ~15/s, so this bounds how long one batch holds its offsets.
    max_batch: int = Field(default=64, ge=1, le=10_000)
    publish_timeout_s: float = Field(default=30.0, gt=0)
    shutdown_timeout_s: float = Field(default=60.0, gt=0)
    journey_file: Path | None = Field(
        default=None, description="Journey catalog; default $VOC_JOURNEY_FILE or the packaged one."
    )

    @field_validator("input_topics", mode="before")
    @classmethod
    def _split_topics(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [t.strip() for t in value.split(",") if t.strip()]
        return value
