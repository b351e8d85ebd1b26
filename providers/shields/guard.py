"""A Llama Guard 3 shield: the prompt built by Herd, sent to a model of any inference provider.

Text is sent as a raw completion of the exact prompt, so no chat template of the
backend changes it. With images, the vision variant gets a chat request whose user
turn is the images and the prompt text (a Llama 3.2 Vision template puts ``<|image|>``
first, as the published format does). Any failure of the backend is an ``error``
verdict; an answer out of format is a flagged one (fail closed).
"""

import time
from typing import Any

from .categories import NAMES, Variant
from .config import LlamaGuardShield
from .llama_guard import BEGIN, END, IMAGE, GuardOutputError, build_prompt, completion_prompt, parse, unsafe_probability
from .verdict import ScoreSource, Turn, Verdict

TOP_LOGPROBS = 5


class LlamaGuardRunner:
    def __init__(self, config: LlamaGuardShield, inference: Any) -> None:
        self.config = config
        self.inference = inference
        self.variant: Variant = config.variant or "1b"

    async def check(self, conversation: list[Turn]) -> Verdict:
        start = time.perf_counter()
        try:
            text, logprobs = await self._ask(conversation)
        except Exception as exc:  # any backend failure: the caller's policy decides
            verdict = Verdict(
                self.config.id,
                True,
                ["shield-unavailable"],
                f"guard model '{self.config.model}' failed: {_short(exc)}",
                1.0,
                "error",
                error=True,
            )
        else:
            verdict = self._verdict(text, logprobs)
        verdict.latency_ms = (time.perf_counter() - start) * 1000
        return verdict

    def _verdict(self, text: str, logprobs: Any) -> Verdict:
        shield = self.config.id
        details = {"guard_output": text.strip()[:80], "variant": self.variant}
        try:
            answer = parse(text, self.variant, self.config.excluded_categories)
        except GuardOutputError as exc:
            reason = f"{exc} (failing closed)"
            return Verdict(shield, True, ["unparsed-guard-output"], reason, 1.0, "label", details=details)
        probability = unsafe_probability(logprobs)
        source: ScoreSource = "logprobs" if probability is not None else "label"
        score = probability if probability is not None else float(answer.unsafe)
        if not answer.unsafe:
            return Verdict(shield, False, [], "Llama Guard: safe", score, source, details=details)

        reason = "Llama Guard: " + "; ".join(f"{c} {NAMES[c]}" for c in answer.codes)
        return Verdict(shield, True, list(answer.codes), reason, score, source, details=details)

    async def _ask(self, conversation: list[Turn]) -> tuple[str, Any]:
        from llama_stack_api import OpenAIChatCompletionRequestWithExtraBody, OpenAICompletionRequestWithExtraBody

        prompt = build_prompt(self.variant, conversation, self.config.excluded_categories)
        images = [i for t in conversation for i in t.images]
        common = {"model": self.config.model, "max_tokens": self.config.max_tokens, "temperature": 0.0}
        if self.variant == "11b-vision" and images:
            from herd.providers.vision.sources import data_url

            text = prompt.removeprefix(BEGIN).removesuffix(END).removeprefix(IMAGE).rstrip()
            content = [*({"type": "image_url", "image_url": {"url": data_url(i)}} for i in images)]
            content.append({"type": "text", "text": text})
            request = OpenAIChatCompletionRequestWithExtraBody(
                messages=[{"role": "user", "content": content}], logprobs=True, top_logprobs=TOP_LOGPROBS, **common
            )
            reply = await self.inference.openai_chat_completion(request)
            choice = reply.choices[0]
            return choice.message.content or "", _dump(choice.logprobs)
        completion = OpenAICompletionRequestWithExtraBody(
            prompt=completion_prompt(prompt), logprobs=True, top_logprobs=TOP_LOGPROBS, **common
        )
        reply = await self.inference.openai_completion(completion)
        choice = reply.choices[0]
        return choice.text or "", _dump(choice.logprobs)


def _dump(logprobs: Any) -> Any:
    return logprobs.model_dump() if hasattr(logprobs, "model_dump") else logprobs


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
