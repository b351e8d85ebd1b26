"""Configuration of Herd's shields provider: offline prompt-attack shields and Llama Guard shields."""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .categories import VARIANT_CODES, Variant

PiiKind = Literal["email", "phone", "credit-card", "iban", "us-ssn", "ipv4", "secret-key"]


class Rules(BaseModel):
    """Rules an offline shield applies besides its detector."""

    model_config = ConfigDict(extra="forbid")

    block: list[str] = Field(
        default_factory=list, description="Regular expressions (case-insensitive); a match flags the text."
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Regular expressions; text matching one is never flagged by the detector (block rules still apply).",
    )
    pii: list[PiiKind] = Field(default_factory=list, description="Kinds of personal data to look for.")
    pii_action: Literal["redact", "block"] = Field(
        default="redact",
        description="`redact` replaces each match with [kind] and lets the text through; `block` flags it.",
    )

    @field_validator("block", "allow")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from exc
        return patterns


class OfflineShield(BaseModel):
    """Prompt-attack detectors that need no download (securevector-guardian-model's, Herd's lexical model), plus rules."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["offline"] = "offline"
    id: str = Field(min_length=1, description="The shield id clients name, e.g. `prompt-guard`.")
    detector: bool = Field(
        default=True, description="Run the injection/jailbreak detector; false leaves the rules only."
    )
    heuristics: bool = Field(
        default=True, description="Also flag the phrases of known attack families (heuristics.py)."
    )
    threshold: float | None = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        description="Attack probability at which the detector flags text; null for the model's own (0.81). "
        "0.7 was chosen on the development split of tests/data/shields (bench/shields.py).",
    )
    lexical: bool = Field(
        default=True,
        description="Also run Herd's lexical attack model (lexical.py), trained on attack collections apart "
        "from the evaluation set.",
    )
    lexical_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Probability at which the lexical model flags text; null for the one stored with its "
        "weights (0.9, chosen on the development split by bench/shields.py --pick-threshold).",
    )
    rules: Rules = Field(default_factory=lambda: Rules())


class LlamaGuardShield(BaseModel):
    """Llama Guard 3 served by any inference provider of the distribution."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["llama-guard"] = "llama-guard"
    id: str = Field(min_length=1, description="The shield id clients name, e.g. `llama-guard`.")
    model: str = Field(min_length=1, description="The registered guard model, e.g. `ollama/llama-guard3:1b`.")
    variant: Variant | None = Field(
        default=None, description="`1b`, `8b` or `11b-vision`; read from the model id if unset."
    )
    excluded_categories: list[str] = Field(default_factory=list, description="Codes left out of the prompt, e.g. S6.")
    max_tokens: int = Field(default=16, ge=2, le=64)

    @model_validator(mode="after")
    def _known(self) -> "LlamaGuardShield":
        if self.variant is None:
            self.variant = guess_variant(self.model)
        unknown = sorted(set(self.excluded_categories) - set(VARIANT_CODES[self.variant]))
        if unknown:
            raise ValueError(
                f"shield '{self.id}': excluded_categories {unknown} are not categories of Llama Guard 3 "
                f"{self.variant} ({', '.join(VARIANT_CODES[self.variant])})"
            )
        return self


def guess_variant(model: str) -> Variant:
    name = model.lower()
    if "vision" in name or "11b" in name:
        return "11b-vision"
    if "8b" in name:
        return "8b"
    if "1b" in name:
        return "1b"
    raise ValueError(f"cannot tell the Llama Guard 3 variant of '{model}'; set `variant` to 1b, 8b or 11b-vision")


ShieldConfig = Annotated[OfflineShield | LlamaGuardShield, Field(discriminator="kind")]


class ShieldsConfig(BaseModel):
    """The shields this provider serves."""

    model_config = ConfigDict(extra="forbid")

    shields: list[ShieldConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "ShieldsConfig":
        ids = [s.id for s in self.shields]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"shield ids must be unique; repeated: {', '.join(repeated)}")
        return self

    @classmethod
    def sample_run_config(cls, **kwargs: Any) -> dict[str, Any]:
        return {"shields": [{"kind": "offline", "id": "prompt-guard"}]}
