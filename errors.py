"""Herd's error hierarchy. Every message says what failed and how to fix it.

    HerdError                      base; ``status_code`` is the HTTP status when it reaches a client
    ├── ConfigError (400)          a run config, template or catalog entry is wrong
    ├── Unauthorized (401)         no API key, a wrong one, or a revoked one
    ├── ModelNotAvailable (404)    a model id is unknown or its weights are missing
    ├── InvalidRequest (400)       a request the model cannot serve as asked
    │   └── ContextOverflow (400)  prompt or max_tokens beyond the context window
    ├── PolicyRefused (403)        the privacy policy forbids sending this request where it would go
    ├── RateLimited (429)          a key's request rate, token quota or open streams; ``retry_after`` s
    ├── TooLarge (413)             a request past a size limit (images, their count)
    ├── ServerBusy (503)           the request queue is full, or the server is draining; retry later
    ├── StoreUnavailable (503)     the vector store backend (a Chroma server) cannot be reached
    ├── ProviderUnavailable (503)  a remote inference server (Ollama) cannot be reached, or went away mid-stream
    ├── StorageFull (507)          the disk holding the stores is full; free space and retry
    ├── ShieldUnavailable (503)    a shield could not judge and the policy fails closed
    ├── ToolUnavailable (503)      a tool cannot run as configured (no sandbox, its server is down)
    └── EngineFailure (500)        the inference engine failed while serving

llama-stack's server turns any exception carrying an integer ``status_code`` into an
HTTP response with that status and ``str(exc)`` as the message, so these reach
clients as OpenAI-shaped errors without further wiring. The CLI prints them as one
line and exits non-zero. An error with ``retry_after`` also sends ``Retry-After``.
"""


class HerdError(Exception):
    status_code: int = 500
    retry_after: int | None = None  # seconds; sent as Retry-After when set


class ConfigError(HerdError):
    status_code = 400


class Unauthorized(HerdError):
    status_code = 401


class RateLimited(HerdError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class TooLarge(HerdError):
    status_code = 413


class ModelNotAvailable(HerdError):
    status_code = 404


class InvalidRequest(HerdError):
    status_code = 400


class ContextOverflow(InvalidRequest):
    pass


class PolicyRefused(HerdError):
    status_code = 403


class ServerBusy(HerdError):
    status_code = 503
    retry_after = 1


class StoreUnavailable(HerdError):
    status_code = 503


class ProviderUnavailable(HerdError):
    status_code = 503


class StorageFull(HerdError):
    status_code = 507


class ShieldUnavailable(HerdError):
    status_code = 503


class EngineFailure(HerdError):
    status_code = 500


class ToolUnavailable(HerdError):
    """A tool cannot run here as configured (its sandbox is missing, its server is down)."""

    status_code = 503


def server_message(exc: Exception) -> str:
    """What a server said in the body of an SDK error (llama-stack-client or openai), else the error's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        return str(error.get("message") or error.get("detail") or body) if isinstance(error, dict) else str(error)
    return str(exc)
