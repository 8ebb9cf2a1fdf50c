"""The naive path of the classifier benchmark: what a first version would do.

The stock `transformers` feature-extraction pipeline over the service's weights, one message at a
time at float32 (as loaded), with the service's redaction, language ID and heads, so the two
paths differ only in how they encode.
"""

from __future__ import annotations

import numpy as np
import transformers

from services.classifier.nlp import e5_weights
from services.classifier.nlp.encoder import Encoder
from services.classifier.nlp.pipeline import (
    TextClassifier,
    TextInput,
    sentiment_from_probs,
    topics_from_probs,
)
from services.classifier.nlp.redact import PLACEHOLDER, redact
from services.classifier.nlp.settings import NlpSettings


class NaiveLoop:
    """What a first version would do: the stock pipeline, one message at a time."""

    def __init__(self, classifier: TextClassifier, settings: NlpSettings) -> None:
        encoder = classifier.encoder
        assert isinstance(encoder, Encoder)
        model_dir = settings.model_dir or e5_weights.cached_model_dir(settings.cache_dir)
        self.pipe = transformers.pipeline(
            "feature-extraction",
            model=str(model_dir),
            tokenizer=encoder.tokenizer,
            device=encoder.device,
            # BertModel adds an (unused, untrained) pooler by default; the service loads none.
            model_kwargs={"add_pooling_layer": False} if settings.model_dir is None else {},
        )
        self.classifier = classifier
        self.prefix, self.max_length = encoder.prefix, encoder.max_length

    def classify(self, item: TextInput) -> str | None:
        """The sentiment label, or None when unscored (as the service would decide)."""
        text = redact(item.text or "")
        lang = self.classifier.detector.detect(PLACEHOLDER.sub(" ", text), item.language_hint)
        if not text.strip() or (lang and lang.code not in self.classifier.scored_languages):
            return None
        hidden = self.pipe(
            self.prefix + text,
            return_tensors=True,
            tokenize_kwargs={"truncation": True, "max_length": self.max_length},
        )
        vector = hidden[0].float().mean(dim=0).numpy()
        vector = (vector / np.linalg.norm(vector))[None, :]
        heads = self.classifier.heads
        topics_from_probs(heads.topic_probs(vector)[0], self.classifier.topic_threshold)
        return sentiment_from_probs(heads.sentiment_probs(vector)[0]).label.value
