"""Sentiment and topic heads: L2-regularised logistic regressions over frozen sentence vectors.

The heads are trained at start-up from the examples file kept in the repo (train split only) and
cached under a version that hashes everything they depend on: the encoder, the examples file and
the hyperparameters. Editing the examples therefore retrains on the next start, and the version
published with every enriched event tells which heads scored it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import structlog
import torch

from shared.events import SentimentLabel, Topic

log = structlog.get_logger(__name__)

Embed = Callable[[list[str]], np.ndarray]
Split = Literal["train", "test"]

SENTIMENT_LABELS: tuple[SentimentLabel, ...] = (
    SentimentLabel.negative,
    SentimentLabel.neutral,
    SentimentLabel.positive,
)
TOPIC_LABELS: tuple[Topic, ...] = tuple(Topic)
# Bump when the training procedure changes in a way the hyperparameters do not capture.
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    lang: str
    text: str
    sentiment: SentimentLabel
    topics: tuple[Topic, ...]  # primary first
    split: Split


@dataclass(frozen=True, slots=True)
class HeadParams:
    # Inverse regularisation strength on standardised features, as in scikit-learn. 5-fold
    # cross-validation on the train split of the bundled examples is flat from 0.1 to 1.
    sentiment_c: float = 0.2
    topic_c: float = 0.5
    max_iter: int = 200


def parse_examples(raw: str) -> list[Example]:
    """Examples from JSON lines; a malformed line fails loudly, since the file is ours."""
    examples = []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            topics = tuple(Topic(t) for t in row["topics"])
            if not topics or row["split"] not in ("train", "test"):
                raise ValueError("needs at least one topic and split train|test")
            examples.append(
                Example(
                    id=str(row["id"]),
                    lang=str(row["lang"]),
                    text=str(row["text"]),
                    sentiment=SentimentLabel(row["sentiment"]),
                    topics=topics,
                    split=row["split"],
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"examples line {lineno}: {exc}") from exc
    return examples


def heads_version(encoder_identity: str, examples_sha256: str, params: HeadParams) -> str:
    key = {
        "format": _FORMAT,
        "encoder": encoder_identity,
        "examples": examples_sha256,
        "params": asdict(params),
        "sentiment_labels": [s.value for s in SENTIMENT_LABELS],
        "topic_labels": [t.value for t in TOPIC_LABELS],
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class LinearHead:
    weight: np.ndarray  # (dim, classes)
    bias: np.ndarray  # (classes,)
    mean: np.ndarray  # (dim,) feature standardisation, from the training set
    scale: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weight + self.bias


def fit_linear(
    x: np.ndarray, y: np.ndarray, *, multilabel: bool, c: float, max_iter: int
) -> LinearHead:
    """Softmax regression (y: class indices) or per-label sigmoids (y: 0/1 matrix).

    The objective is convex and starts from zero weights with full-batch L-BFGS in float64, so
    the same data always gives the same head: no seed to manage, no run-to-run drift.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = torch.from_numpy((x - mean) / scale).double()
    classes = y.shape[1] if multilabel else len(SENTIMENT_LABELS)
    target = torch.from_numpy(y).double() if multilabel else torch.from_numpy(y).long()
    w = torch.zeros(z.shape[1], classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    penalty = 0.5 / (c * len(z))
    opt = torch.optim.LBFGS(
        [w, b], lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe"
    )
    loss_fn = (
        torch.nn.functional.binary_cross_entropy_with_logits
        if multilabel
        else torch.nn.functional.cross_entropy
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(z @ w + b, target) + penalty * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return LinearHead(
        weight=w.detach().numpy().astype(np.float32),
        bias=b.detach().numpy().astype(np.float32),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
    )


@dataclass(frozen=True)
class Heads:
    version: str
    sentiment: LinearHead
    topics: LinearHead

    def sentiment_probs(self, x: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities in SENTIMENT_LABELS order."""
        logits = self.sentiment.logits(x)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def topic_probs(self, x: np.ndarray) -> np.ndarray:
        """(n, 8) independent probabilities in TOPIC_LABELS order."""
        # tanh form of the logistic: no overflow warnings for very negative logits.
        return 0.5 * (1.0 + np.tanh(0.5 * self.topics.logits(x)))

    def save(self, path: Path) -> None:
        arrays = {
            f"{name}_{field}": getattr(head, field)
            for name, head in (("sentiment", self.sentiment), ("topics", self.topics))
            for field in ("weight", "bias", "mean", "scale")
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: replicas sharing a cache never load a half-written file.
        fd, tmp = tempfile.mkstemp(prefix=".heads-", suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, version=np.array(self.version), **arrays)
            os.chmod(tmp, 0o644)  # mkstemp is owner-only; replicas may run as other users
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: Path) -> Heads:
        with np.load(path, allow_pickle=False) as data:

            def head(name: str) -> LinearHead:
                return LinearHead(
                    *(data[f"{name}_{f}"] for f in ("weight", "bias", "mean", "scale"))
                )

            return cls(
                version=str(data["version"]), sentiment=head("sentiment"), topics=head("topics")
            )


def train_heads(
    embeddings: np.ndarray, examples: Sequence[Example], params: HeadParams, version: str
) -> Heads:
    if any(e.split != "train" for e in examples):
        raise ValueError("heads are trained on the train split only")
    missing = set(SENTIMENT_LABELS) - {e.sentiment for e in examples}
    if missing:
        raise ValueError(f"no training examples for sentiment {sorted(missing)}")
    x = embeddings.astype(np.float64)
    y_sent = np.array([SENTIMENT_LABELS.index(e.sentiment) for e in examples], dtype=np.int64)
    y_topic = np.zeros((len(examples), len(TOPIC_LABELS)), dtype=np.float64)
    for row, e in enumerate(examples):
        y_topic[row, [TOPIC_LABELS.index(t) for t in e.topics]] = 1.0
    sentiment = fit_linear(
        x, y_sent, multilabel=False, c=params.sentiment_c, max_iter=params.max_iter
    )
    topics = fit_linear(x, y_topic, multilabel=True, c=params.topic_c, max_iter=params.max_iter)
    return Heads(version=version, sentiment=sentiment, topics=topics)


def load_or_train(
    *,
    cache_dir: Path,
    examples_path: Path,
    embed: Embed,
    encoder_identity: str,
    params: HeadParams | None = None,
) -> Heads:
    """Heads for this encoder and examples file: from the cache, else trained and cached."""
    params = params or HeadParams()
    raw = examples_path.read_bytes()  # hash and parse the same bytes, even if the file changes
    version = heads_version(encoder_identity, hashlib.sha256(raw).hexdigest(), params)
    path = Path(cache_dir) / "heads" / f"heads-{version[:16]}.npz"
    if path.is_file():
        try:
            heads = Heads.load(path)
            if heads.version == version:
                return heads
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("heads.cache_unreadable", path=str(path), error=type(exc).__name__)
    train = [e for e in parse_examples(raw.decode("utf-8")) if e.split == "train"]
    log.info("heads.training", examples=len(train), version=version[:8])
    heads = train_heads(embed([e.text for e in train]), train, params, version)
    heads.save(path)
    return heads


@dataclass(frozen=True, slots=True)
class Accuracy:
    n: int
    sentiment: float
    primary_topic: float  # the top-scored topic is the example's primary one


def evaluate(heads: Heads, embed: Embed, examples: Sequence[Example]) -> dict[str, Accuracy]:
    """Accuracy per language, plus "all"; meant for the test split."""
    if not examples:
        return {}
    x = embed([e.text for e in examples])
    sentiment = np.asarray(SENTIMENT_LABELS)[heads.sentiment_probs(x).argmax(axis=1)]
    topic = np.asarray(TOPIC_LABELS)[heads.topic_probs(x).argmax(axis=1)]
    sentiment_hit = np.array([p == e.sentiment for p, e in zip(sentiment, examples, strict=True)])
    topic_hit = np.array([p == e.topics[0] for p, e in zip(topic, examples, strict=True)])
    langs = np.array([e.lang for e in examples])
    out = {}
    for lang in [*sorted(set(langs)), "all"]:
        rows = np.ones(len(langs), dtype=bool) if lang == "all" else langs == lang
        out[str(lang)] = Accuracy(
            n=int(rows.sum()),
            sentiment=float(sentiment_hit[rows].mean()),
            primary_topic=float(topic_hit[rows].mean()),
        )
    return out
