"""Failures of a vision endpoint as herd errors that say what to fix."""

import httpx

from herd.errors import ConfigError, EngineFailure, HerdError, InvalidRequest, ModelNotAvailable, ServerBusy

from .config import VisionStageConfig


def endpoint_error(exc: httpx.HTTPError, config: VisionStageConfig) -> HerdError:
    where = f"vision endpoint {config.endpoint}"
    if isinstance(exc, httpx.ConnectError):
        return EngineFailure(f"{where} refused the connection ({exc}); start it or set vision.url")
    if isinstance(exc, httpx.TimeoutException):
        return EngineFailure(
            f"{where} did not answer within {config.timeout_seconds:g}s; raise vision.timeout_seconds, "
            "send fewer or smaller images, or use a smaller vision model"
        )
    return EngineFailure(f"{where} failed ({type(exc).__name__}: {exc}); check that vision.url is right")


def _upstream_message(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:300]
    error = body.get("error", body) if isinstance(body, dict) else body
    message = (error.get("message") or error.get("detail")) if isinstance(error, dict) else error
    return str(message)[:300]


def reply_error(reply: httpx.Response, config: VisionStageConfig, problem: str = "") -> HerdError:
    where = f"vision endpoint {config.endpoint} (model {config.model})"
    status = reply.status_code
    if problem:
        return EngineFailure(f"{where} {problem}; check that vision.url serves an OpenAI-compatible chat API")
    said = f"HTTP {status}: {_upstream_message(reply)}"
    if status in (401, 403):
        return ConfigError(f"{where} rejected the request ({said}); set vision.api_key to a key it accepts")
    if status == 404:
        pull = f" (ollama pull {config.model})" if config.kind == "ollama" else ""
        return ModelNotAvailable(
            f"{where} has no such model or route ({said}); serve the model{pull}, or fix vision.model / vision.url"
        )
    if status in (429, 503):
        return ServerBusy(f"{where} is busy ({said}); retry later")
    if status < 500:
        return InvalidRequest(f"{where} refused the request ({said}); it may not accept images of this kind or size")
    return EngineFailure(f"{where} failed ({said}); check its logs")
