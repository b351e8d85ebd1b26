"""Completions as Ollama's raw ``generate``.

Ollama's ``/v1/completions`` wraps the prompt in the model's chat template (ollama
issues #5544, #12636), so an exact prompt, such as Llama Guard's, would be wrapped
twice. ``/api/generate`` with ``raw: true`` takes the prompt as it is; its logprobs
(``[{token, logprob, top_logprobs}]``) map to OpenAI's ``{"content": [...]}``.
"""

import time
import uuid
from typing import Any

_OPTIONS = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "stop": "stop", "max_tokens": "num_predict"}


def generate_args(params: Any) -> dict[str, Any]:
    options = {
        ours: getattr(params, theirs) for theirs, ours in _OPTIONS.items() if getattr(params, theirs, None) is not None
    }
    if isinstance(options.get("stop"), str):
        options["stop"] = [options["stop"]]
    args: dict[str, Any] = {
        "model": params.model,
        "prompt": params.prompt,
        "raw": True,
        "stream": False,
        "options": options,
    }
    if params.logprobs:
        extra = params.model_extra or {}
        args.update(logprobs=True, top_logprobs=int(extra.get("top_logprobs") or 0))
    return args


def as_completion(reply: Any, model: str) -> dict[str, Any]:
    data = reply.model_dump() if hasattr(reply, "model_dump") else dict(reply)
    logprobs = data.get("logprobs")
    choice = {
        "index": 0,
        "text": data.get("response") or "",
        "finish_reason": "length" if data.get("done_reason") == "length" else "stop",
        "logprobs": {"content": [_position(p) for p in logprobs]} if logprobs else None,
    }
    # llama-stack's completion object has no usage field, so Ollama's token counts stop here.
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }


def _position(entry: dict[str, Any]) -> dict[str, Any]:
    top = [
        {"token": t.get("token", ""), "logprob": t.get("logprob", 0.0), "bytes": None}
        for t in entry.get("top_logprobs") or []
    ]
    return {"token": entry.get("token", ""), "logprob": entry.get("logprob", 0.0), "bytes": None, "top_logprobs": top}
