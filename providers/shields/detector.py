"""securevector-guardian-model's prompt-attack detector, its linear layer on numpy.

The wheel's runtime (``svguardian.model.pure_infer.PureGuardian``) is pure Python: after
its TF-IDF features it loops over 8 classes times every feature in the text. Here the
features are the wheel's own and the scores one numpy product over the columns they
name; the weights are the wheel's, as float64, so the scores agree with its to rounding.
Measured here: the detector's time per text of the shields' eval set, median, 765-860 µs
-> 381-453 µs warm and 1,113-1,160 µs -> 665-701 µs with the caches flushed first; on a
one-sentence prompt, scoring 150-168 µs -> 105-112 µs (the features are most of the rest).
"""

from typing import Any

import numpy as np
from svguardian.model.pure_infer import PureGuardian, _char_wb_ngrams, _tfidf_block, _word_ngrams


class Guardian(PureGuardian):
    def __init__(self, bundle: dict[str, Any]) -> None:
        super().__init__(bundle)
        self.weights = np.asarray(bundle["coef"], dtype=np.float64)  # [classes, word features + char features]
        self.bias = np.asarray(bundle["intercept"], dtype=np.float64)
        self.coef = None  # the lists are not read again; ~11 MB of Python floats

    def _scores(self, text: str) -> list[float]:
        word, char = self.word, self.char
        wv = _tfidf_block(_word_ngrams(text, *word["ngram_range"]), word["vocab"], word["idf"], word["sublinear_tf"])
        cv = _tfidf_block(_char_wb_ngrams(text, *char["ngram_range"]), char["vocab"], char["idf"], char["sublinear_tf"])
        columns = [*wv, *(self.n_word + col for col in cv)]
        if not columns:
            return [float(b) for b in self.bias]
        values = np.fromiter([*wv.values(), *cv.values()], dtype=np.float64, count=len(columns))
        scores: list[float] = (self.bias + self.weights[:, columns] @ values).tolist()
        return scores
