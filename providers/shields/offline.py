"""The offline shield: rules, attack phrases, securevector-guardian-model's prompt-attack
detector, and Herd's lexical attack model (``lexical.py``), in that order; the first that
flags decides.

The detector is TF-IDF features into a logistic regression, shipped as a 2 MB gzipped
JSON inside its wheel (no model download, no native code); its scores are computed on
numpy (``detector.py``). It is
loaded from the wheel's own copy only: its default loader would fetch from GitHub.
Long texts are scored window by window (its ``predict_windowed``), so one injected
sentence in a long tool result or document is still found. Images are read by OCR and
their text is screened; what an image shows is not seen.
"""

import functools
import time
from typing import Any

from herd.errors import ConfigError

from . import heuristics
from .config import OfflineShield
from .rules import CompiledRules
from .verdict import Turn, Verdict

SHORT_WORDS, SHORT_THRESHOLD = 5, 0.85
# The detector's classes, as Herd reports them.
_CATEGORY = {
    "prompt_injection": "prompt-injection",
    "jailbreak": "jailbreak",
    "data_exfiltration": "data-exfiltration",
    "social_engineering": "social-engineering",
    "model_attack": "model-attack",
    "harmful_content": "harmful-content",
    "pii": "pii",
}


@functools.cache
def load_detector() -> Any:
    try:
        from svguardian._runtime import bundled_path

        from .detector import Guardian
    except ImportError as exc:
        raise ConfigError(
            f"the offline shield's detector is not installed ({exc}); run "
            "`pip install securevector-guardian-model==1.4.0`, or set `detector: false` on the shield"
        ) from exc
    path = bundled_path()
    if path is None:
        raise ConfigError("securevector-guardian-model has no bundled weights; reinstall it from its wheel")
    return Guardian.load(path)


def image_text(data: bytes) -> str:
    from herd.providers.vision.metadata import as_rgb, open_image
    from herd.providers.vision.ocr import ocr_segments
    from herd.providers.vision.reading import reading_lines

    return "\n".join(line for line, _score in reading_lines(ocr_segments(as_rgb(open_image(data, "image")))))


class OfflineRunner:
    def __init__(self, config: OfflineShield) -> None:
        self.config = config
        self.rules = CompiledRules(config.rules)
        self.detector = load_detector() if config.detector else None
        default = float(getattr(self.detector, "threshold", 0.5))
        self.threshold = config.threshold if config.threshold is not None else default
        from . import lexical

        self.lexical = lexical.load() if config.lexical else None
        stored = self.lexical.threshold if self.lexical else 1.0
        self.lexical_threshold = config.lexical_threshold if config.lexical_threshold is not None else stored

    def check(self, conversation: list[Turn]) -> Verdict:
        start = time.perf_counter()
        turn = conversation[-1]
        texts = [turn.text] if turn.text else []
        verdict = self._judge("\n\n".join(texts + [image_text(i) for i in turn.images]), data=turn.role == "tool")
        if turn.images:
            verdict.details["images"] = "text read by OCR was screened; image content is not seen"
        if turn.unread:
            verdict.details["unread_images"] = "images given by URL are not screened; send them as data URLs"
        verdict.latency_ms = (time.perf_counter() - start) * 1000
        return verdict

    def _judge(self, text: str, data: bool) -> Verdict:
        shield = self.config.id
        rules = self.rules.apply(text)
        if rules.blocked_by:
            return Verdict(shield, True, ["blocked-term"], f"matches block rule {rules.blocked_by!r}", 1.0, "rules")
        if rules.pii and self.config.rules.pii_action == "block":
            return Verdict(shield, True, ["pii"], f"contains personal data ({', '.join(rules.pii)})", 1.0, "rules")
        redacted = rules.redacted if rules.pii else None
        if rules.allowed or not text.strip():
            why = "matches an allow rule" if rules.allowed else "nothing to judge"
            return Verdict(shield, False, [], why, 0.0, "rules", redacted=redacted)
        if self.config.heuristics and (found := heuristics.match(text, data)) is not None:
            category, phrase = found
            reason = f"looks like {category.replace('-', ' ')} (phrase {phrase!r})"
            return Verdict(shield, True, [category], reason, 1.0, "rules", redacted=redacted)
        short = len(text.split()) < SHORT_WORDS
        flagged, score = self._detected(text, short, redacted)
        if flagged is not None:
            return flagged
        # The lexical model judges texts of SHORT_WORDS words or more: a few words are too little
        # evidence for its n-grams ("Continue" alone scores 0.93).
        if self.lexical and not short and (probability := self.lexical.score(text)) >= self.lexical_threshold:
            reason = f"looks like a prompt attack (lexical model, probability {probability:.2f})"
            return Verdict(shield, True, ["prompt-attack"], reason, probability, "model", redacted=redacted)
        if self.detector is None and self.lexical is None:
            return Verdict(shield, False, [], "no rule matched", 0.0, "rules", redacted=redacted)
        why = f"no attack found (probability {score:.2f})" if self.detector else "no attack found"
        return Verdict(shield, False, [], why, score, "model", redacted=redacted)

    def _detected(self, text: str, short: bool, redacted: str | None) -> tuple[Verdict | None, float]:
        """securevector's verdict when it flags ``text``, and its score."""
        if self.detector is None:
            return None, 0.0
        from svguardian.window import predict_windowed

        pred = predict_windowed(self.detector, text)
        score = float(pred["malicious_score"])
        # A few words give the n-gram model little evidence: greetings and "Continue" score
        # 0.55-0.82, the short attacks tried 0.86-1.0, so short texts need more.
        threshold = max(self.threshold, SHORT_THRESHOLD) if short else self.threshold
        top = next((c for c, _p in pred.get("top3", []) if c != self.detector.benign), None)
        category = _CATEGORY.get(str(pred.get("category") or top), str(top))
        if score < threshold:
            return None, score
        reason = f"looks like {category.replace('-', ' ')} (probability {score:.2f})"
        return Verdict(self.config.id, True, [category], reason, score, "model", redacted=redacted), score
