"""One GGUF model served in-process by llama.cpp's own server engine (xllamacpp).

xllamacpp runs llama.cpp's C++ server loop inside this process: continuous
batching over ``n_parallel`` slots, a prompt/KV cache per slot (a conversation's next
turn re-evaluates only its new tokens), Jinja chat templates from the GGUF, and
JSON-schema constrained decoding. Its ``handle_*`` calls block the calling thread and
call a streaming callback on that same thread; the async side lives in ``impl.py``.
"""

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from herd.distribution.catalog import ModelEntry, template_text
from herd.errors import ContextOverflow, EngineFailure, InvalidRequest

Chunk = dict[str, Any]


def raise_for_error(result: Any, model_id: str) -> None:
    """Turn an error object returned by llama.cpp into a Herd error with a fix."""
    if not isinstance(result, dict) or "error" not in result:
        return
    err = result["error"] if isinstance(result["error"], dict) else {"message": str(result["error"])}
    message = str(err.get("message", "unknown error"))
    if err.get("type") == "exceed_context_size_error":
        raise ContextOverflow(
            f"the prompt is {err.get('n_prompt_tokens')} tokens but model '{model_id}' has a context window of "
            f"{err.get('n_ctx')} tokens; shorten the messages or start a new conversation"
        )
    if int(err.get("code") or 500) < 500:
        raise InvalidRequest(f"model '{model_id}' rejected the request: {message}")
    raise EngineFailure(f"model '{model_id}' failed: {message}")


def server_params(path: Path, n_ctx: int, threads: int | None = None) -> tuple[Any, str]:
    """xllamacpp parameters as Herd runs a model, and the key of llama.cpp's own listener.

    The benchmark's direct baseline and the tests build their llama.cpp servers here
    too, so they run with exactly the settings the provider uses.
    """
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(path)
    params.n_ctx = n_ctx
    params.use_jinja = True
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads or os.cpu_count() or 1
    params.cache_prompt = True
    params.n_threads_http = 1
    # 1 = errors only; llama.cpp otherwise logs every slot event of every request.
    params.verbosity = 1
    # llama.cpp also opens its own HTTP listener; keep it on loopback and locked with
    # a key only the caller knows, so the way in is through Herd.
    key = secrets.token_hex(24)
    params.hostnames = ["127.0.0.1"]
    params.api_keys = [key]
    return params, key


class LlamaCppEngine:
    def __init__(self, entry: ModelEntry, path: Path, n_ctx: int, n_parallel: int, threads: int | None) -> None:
        self.entry = entry
        self.path = path
        # llama.cpp splits n_ctx across slots; each request gets ctx_per_slot.
        self.ctx_per_slot = min(n_ctx, entry.context_length)
        self.n_parallel = n_parallel
        self.threads = threads or os.cpu_count() or 1
        self.template_supports_tools = entry.chat_template != "gguf" or self._gguf_template_has_tools()
        self.server: Any = None
        self.load_seconds: float | None = None  # set by the pool, which times the whole load

    def _gguf_template_has_tools(self) -> bool:
        from herd.distribution.gguf import read_metadata

        return "tools" in str(read_metadata(self.path).get("tokenizer.chat_template", ""))

    def load(self) -> None:
        import xllamacpp as xlc

        params, _ = server_params(self.path, self.ctx_per_slot * self.n_parallel, self.threads)
        params.n_parallel = self.n_parallel
        override = template_text(self.entry.chat_template)
        if override is not None:
            params.chat_template = override
        try:
            self.server = xlc.Server(params)
        except Exception as exc:  # llama.cpp reports load failures as generic errors
            raise EngineFailure(f"could not load model '{self.entry.id}' from {self.path}: {exc}") from exc

    def check_max_tokens(self, body: dict[str, Any]) -> None:
        wanted = body.get("max_tokens") or body.get("max_completion_tokens")
        if wanted and wanted >= self.ctx_per_slot:
            raise ContextOverflow(
                f"max_tokens={wanted} does not fit the context window of model '{self.entry.id}' "
                f"({self.ctx_per_slot} tokens, shared by prompt and reply); ask for fewer tokens"
            )

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        result = self.server.handle_chat_completions(body)
        raise_for_error(result, self.entry.id)
        return result

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        result = self.server.handle_completions(body)
        raise_for_error(result, self.entry.id)
        return result

    def stream(self, kind: str, body: dict[str, Any], on_chunk: Callable[[Chunk], bool]) -> None:
        """Stream chunks to ``on_chunk`` (which returns True to stop); raises on engine errors."""
        handler = self.server.handle_chat_completions if kind == "chat" else self.server.handle_completions
        # When streaming, llama.cpp hands errors (e.g. a prompt over the context window)
        # to the callback as an {"error": ...} chunk, not as the return value: keep it
        # out of the stream, stop, and raise it once the handler returns.
        error: Chunk | None = None

        def forward(chunk: Chunk) -> bool:
            nonlocal error
            if isinstance(chunk, dict) and "error" in chunk:
                error = chunk
                return True
            return on_chunk(chunk)

        result = handler({**body, "stream": True}, forward)
        raise_for_error(error or result, self.entry.id)
