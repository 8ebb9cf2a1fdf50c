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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import structlog
import torch

from services.classifier.nlp.examples import Example, parse_examples
from shared.events import SentimentLabel, Topic

log = structlog.get_logger(__name__)

Embed = Callable[[list[str]], np.ndarray]

SENTIMENT_LABELS: tuple[SentimentLabel, ...] = (
    SentimentLabel.negative,
    SentimentLabel.neutral,
    SentimentLabel.positive,
)
TOPIC_LABELS: tuple[Topic, ...] = tuple(Topic)
INSTALLED = "installed.json"  # pointer to the heads `voc train-heads` installed
# Bump when the training procedure changes in a way the hyperparameters do not capture.
_FORMAT = 2  # 2: the primary-topic head


@dataclass(frozen=True, slots=True)
class HeadParams:
    # Inverse regularisation strength on standardised features, as in scikit-learn. Chosen by
    # 5-fold cross-validation on the train split (folds by scenario group), which is flat from
    # 0.1 to 1 for every head; balanced class weights and a one-hidden-layer MLP did no better.
    sentiment_c: float = 0.2
    topic_c: float = 0.5
    primary_topic_c: float = 0.5
    max_iter: int = 200


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
    x: np.ndarray,
    y: np.ndarray,
    *,
    multilabel: bool,
    c: float,
    max_iter: int,
    classes: int = len(SENTIMENT_LABELS),
) -> LinearHead:
    """Softmax regression (y: class indices) or per-label sigmoids (y: 0/1 matrix).

    The objective is convex and starts from zero weights with full-batch L-BFGS in float64, so
    the same data always gives the same head: no seed to manage, no run-to-run drift.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = torch.from_numpy((x - mean) / scale).double()
    classes = y.shape[1] if multilabel else classes
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
    # Softmax over the topics, trained on the primary topic alone: it picks the primary topic
    # better than the independent sigmoids do (cross-validated +2 points of accuracy).
    primary: LinearHead | None = None

    def sentiment_probs(self, x: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities in SENTIMENT_LABELS order."""
        return _softmax(self.sentiment.logits(x))

    def topic_probs(self, x: np.ndarray) -> np.ndarray:
        """(n, 8) per-topic probabilities in TOPIC_LABELS order, each in 0..1.

        A topic scores what the more confident head gives it: the multi-label head (is the text
        about it at all?) or the primary head (is it the main subject?).
        """
        # tanh form of the logistic: no overflow warnings for very negative logits.
        probs = 0.5 * (1.0 + np.tanh(0.5 * self.topics.logits(x)))
        if self.primary is not None:
            probs = np.maximum(probs, _softmax(self.primary.logits(x)))
        return probs

    def save(self, path: Path) -> None:
        named = [("sentiment", self.sentiment), ("topics", self.topics)]
        if self.primary is not None:
            named.append(("primary", self.primary))
        arrays = {
            f"{name}_{field}": getattr(head, field) for name, head in named for field in _FIELDS
        }
        _replace_atomically(path, lambda fh: np.savez(fh, version=np.array(self.version), **arrays))

    @classmethod
    def load(cls, path: Path) -> Heads:
        with np.load(path, allow_pickle=False) as data:

            def head(name: str) -> LinearHead:
                return LinearHead(*(data[f"{name}_{f}"] for f in _FIELDS))

            return cls(
                version=str(data["version"]),
                sentiment=head("sentiment"),
                topics=head("topics"),
                primary=head("primary") if "primary_weight" in data else None,
            )


_FIELDS = ("weight", "bias", "mean", "scale")


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _replace_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: replicas sharing a cache never load a half-written file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp is owner-only; replicas may run as other users
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
    y_primary = np.array([TOPIC_LABELS.index(e.topics[0]) for e in examples], dtype=np.int64)
    primary = fit_linear(
        x,
        y_primary,
        multilabel=False,
        c=params.primary_topic_c,
        max_iter=params.max_iter,
        classes=len(TOPIC_LABELS),
    )
    return Heads(version=version, sentiment=sentiment, topics=topics, primary=primary)


def heads_file(cache_dir: Path, version: str) -> Path:
    return Path(cache_dir) / "heads" / f"heads-{version[:16]}.npz"


def install(
    cache_dir: Path, heads: Heads, *, base_version: str, details: Mapping[str, object]
) -> Path:
    """Save `heads` beside the others and make them the ones the classifier loads at start.

    Earlier heads stay on disk, so pointing back is a rollback; `base_version` names the heads
    trained from the examples alone, and the pointer is honoured only while those are current.
    """
    path = heads_file(cache_dir, heads.version)
    heads.save(path)
    pointer = {**details, "version": heads.version, "file": path.name, "base_version": base_version}
    body = json.dumps(pointer, indent=1, sort_keys=True).encode()
    _replace_atomically(Path(cache_dir) / "heads" / INSTALLED, lambda fh: fh.write(body))
    return path


def uninstall(cache_dir: Path) -> bool:
    """Back to the heads trained from the examples alone; False if none were installed."""
    pointer = Path(cache_dir) / "heads" / INSTALLED
    if not pointer.is_file():
        return False
    pointer.unlink()
    return True


def installed_heads(cache_dir: Path, base_version: str) -> Heads | None:
    """The heads `install` pointed at, if they were built on the current base heads."""
    pointer = Path(cache_dir) / "heads" / INSTALLED
    if not pointer.is_file():
        return None
    try:
        meta = json.loads(pointer.read_text())
        if meta["base_version"] != base_version:
            # The encoder, the examples or the hyperparameters changed since calibration: the
            # installed heads answer a question nobody asks any more. Run train-heads again.
            log.warning("heads.installed_stale", installed=str(meta["version"])[:8])
            return None
        heads = Heads.load(pointer.parent / Path(meta["file"]).name)
        if heads.version == meta["version"]:
            return heads
        log.warning("heads.installed_mismatch", installed=str(meta["version"])[:8])
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        log.warning("heads.installed_unreadable", path=str(pointer), error=type(exc).__name__)
    return None


def load_or_train(
    *,
    cache_dir: Path,
    examples_path: Path,
    embed: Embed,
    encoder_identity: str,
    params: HeadParams | None = None,
    use_installed: bool = False,
) -> Heads:
    """Heads for this encoder and examples file: the installed (calibrated) ones when asked and
    still valid, else the example-trained ones from the cache, else trained now and cached."""
    params = params or HeadParams()
    raw = examples_path.read_bytes()  # hash and parse the same bytes, even if the file changes
    version = heads_version(encoder_identity, hashlib.sha256(raw).hexdigest(), params)
    if use_installed and (calibrated := installed_heads(cache_dir, version)) is not None:
        return calibrated
    path = heads_file(cache_dir, version)
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
