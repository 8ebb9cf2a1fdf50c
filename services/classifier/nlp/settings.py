"""Knobs of the NLP core; nested into the classifier's settings as `CLASSIFIER_NLP__*`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from services.classifier.nlp.language import DEFAULT_LANGUAGES
from shared.events import SentimentLabel

DEFAULT_EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples.jsonl"
SCORED_LANGUAGES = ("en", "ru", "sv", "fa", "de", "es", "fr", "pt", "tr", "ar")


class NlpSettings(BaseModel):
    cache_dir: Path = Field(
        default=Path(".voc/cache"),
        description="Expanded encoder weights and trained heads; built at first start.",
    )
    model_dir: Path | None = Field(
        default=None,
        description="A local sentence-encoder directory to use instead of the bundled e5-small.",
    )
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto",
        description="Inference precision. auto: bfloat16 where the hardware computes it natively "
        "(AVX512-BF16/AMX CPUs, recent GPUs), else float32 (float16 on older GPUs).",
    )
    batch_size: int = Field(default=32, ge=1, le=1024)
    batch_tokens: int | None = Field(
        default=None,
        ge=8,
        description="Padded tokens per forward pass, at most; None: 256 on CPU with lanes (512 "
        "with one lane), 32768 on CUDA.",
    )
    pad_to_multiple_of: int = Field(
        default=1,
        ge=1,
        description="Batch widths are rounded up to a multiple of this (8 suits GPU tensor "
        "cores; neutral on CPUs, measured).",
    )
    max_length: int = Field(default=256, ge=8, le=512, description="Tokens per text, at most.")
    threads: int | None = Field(default=None, ge=1, description="Torch threads; None: all CPUs.")
    lanes: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Batches encoded side by side, each on threads/lanes intra-op threads; "
        "None: 2 on a CPU (1 with one thread), 1 on CUDA.",
    )
    query_prefix: str | None = Field(
        default=None, description="Prepended to every text; None: 'query: ' for e5, else none."
    )
    examples_path: Path = Field(
        default=DEFAULT_EXAMPLES, description="Labelled examples the heads are trained on."
    )
    languages: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LANGUAGES),
        description="Languages the detector chooses among (ISO 639-1).",
    )
    scored_languages: list[str] = Field(
        default_factory=lambda: list(SCORED_LANGUAGES),
        description="Languages that get sentiment and topics; others are marked unscored.",
    )
    language_min_confidence: float = Field(
        default=0.3, ge=0, le=1, description="Below it a scored language is not trusted."
    )
    language_min_confidence_unscored: float = Field(
        default=0.5, ge=0, le=1, description="The same for languages outside scored_languages."
    )
    topic_threshold: float = Field(default=0.5, gt=0, le=1)
    model_sentiment: bool = Field(
        default=True,
        description="A sequence-classification model_dir scores sentiment with its own labels; "
        "false: only its encoder is used, with the trained heads.",
    )
    sentiment_label_map: dict[str, SentimentLabel] | None = Field(
        default=None,
        description="model_dir label -> negative|neutral|positive, for labels whose names do "
        "not say (e.g. LABEL_0); others are read from their names (neg/neu/pos, 1-5 stars).",
    )
