"""Sentence embeddings from an ONNX encoder (all-MiniLM-L6-v2) with onnxruntime.

Same recipe as sentence-transformers for this model: WordPiece tokens truncated to
the model's 256-token limit, mean pooling over the attention mask, L2 normalisation.
No torch, no model hub.
"""

from pathlib import Path
from typing import Any

import numpy as np

from herd.distribution.catalog import ModelEntry


class OnnxEmbedder:
    def __init__(self, entry: ModelEntry, model_path: Path, tokenizer_path: Path, threads: int | None) -> None:
        self.entry = entry
        self.model_path = model_path
        self.tokenizer_path = tokenizer_path
        self.threads = threads
        self.load_seconds: float | None = None  # set by the pool, which times the whole load
        self.session: Any = None  # onnxruntime.InferenceSession once loaded
        self.tokenizer: Any = None  # tokenizers.Tokenizer once loaded

    def load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        tokenizer.enable_truncation(max_length=self.entry.context_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer = tokenizer

    def embed(self, texts: list[str], batch_size: int = 32) -> tuple[list[np.ndarray], int]:
        """Unit-length vectors for ``texts`` and the number of tokens read."""
        assert self.session is not None and self.tokenizer is not None, "load() first"
        vectors: list[np.ndarray] = []
        tokens = 0
        for start in range(0, len(texts), batch_size):
            encodings = self.tokenizer.encode_batch(texts[start : start + batch_size])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            tokens += int(mask.sum())
            (hidden,) = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors.extend(pooled / np.clip(norms, 1e-12, None))
        return vectors, tokens
