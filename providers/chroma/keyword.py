"""Keyword ranking: BM25 divided by its upper bound for the query, so scores are 0-1.

For a query with words ``t`` and a chunk ``d``::

    score(d) = sum_t idf(t) * sat(t, d) / sum_t idf(t)
    sat(t, d) = tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avglen)) / (k1 + 1)
    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))

``sat`` tends to 1 as a word repeats, so a chunk holding every query word many times
scores near 1 and one holding none scores 0. ``N`` is the number of chunks in the
store; ``df`` and ``avglen`` are counted over the candidate chunks, the chunks that
contain at least one query word (exact while the candidates are under the cap).
Query words are lower-cased ``\\w+`` runs, common English words left out; they match
whole words in any case, and a chunk's length is its number of whitespace-separated words.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence

K1 = 1.2
B = 0.75
_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "do",
        "does",
        "did",
        "how",
        "can",
        "could",
        "should",
        "may",
        "might",
    ]
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def query_terms(query: str) -> list[str]:
    """The distinct words of a query that keyword search looks for."""
    return list(dict.fromkeys(w for w in words(query) if w not in STOPWORDS and len(w) > 1))


def candidate_pattern(terms: Sequence[str]) -> str:
    """A case-insensitive whole-word regex (chromadb ``$regex``) matching any of ``terms``."""
    return r"(?i)\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b"


def bm25_scores(terms: Sequence[str], documents: Sequence[str], total: int) -> list[float]:
    """The 0-1 score of each document for ``terms``; ``total`` is the number of chunks in the store."""
    if not terms or not documents:
        return [0.0] * len(documents)
    # Only the query words are counted, and a chunk's length is its whitespace-separated
    # words: tokenising every candidate fully would cost more than the search itself.
    pattern = re.compile(candidate_pattern(terms).removeprefix("(?i)"), re.IGNORECASE)
    counts = [Counter(m.lower() for m in pattern.findall(d)) for d in documents]
    lengths = [len(d.split()) for d in documents]
    avglen = (sum(lengths) / len(lengths)) or 1.0
    total = max(total, len(documents))
    idf = {t: math.log(1 + (total - df + 0.5) / (df + 0.5)) for t in terms for df in [sum(t in c for c in counts)]}
    bound = sum(idf.values()) or 1.0
    scores = []
    for count, length in zip(counts, lengths, strict=True):
        norm = K1 * (1 - B + B * length / avglen)
        raw = sum(idf[t] * count[t] / (count[t] + norm) for t in terms if count[t])
        scores.append(raw / bound)
    return scores
