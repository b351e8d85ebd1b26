"""API keys: where they come from, how they are stored, and what each one may do.

A key is a random secret; Herd keeps only its SHA-256. Each key has a ``name``: the owner
of what is made with it (conversations, responses, files, vector stores), so one key
never sees another's. Keys come from three places, merged:

- ``$HERD_HOME/keys.yaml``, written by ``herd keys create|revoke``; the server reads it
  again when it changes, so a revoked key stops working without a restart;
- the run config's ``herd.auth.keys`` (name + sha256, with limits);
- ``herd run --api-key KEY`` and ``HERD_API_KEYS`` (comma-separated ``KEY`` or
  ``NAME=KEY``), for scripts and tests.

Limits (requests per minute, tokens per UTC day, open streams) are per key, with
defaults from ``herd.auth``; ``None`` means unlimited.
"""

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from herd.distribution.home import herd_home
from herd.errors import ConfigError

PREFIX = "herd-"  # so a leaked key is recognisable in logs and secret scanners


class KeyLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(default=None, ge=1, description="Requests a minute; then 429.")
    tokens_per_day: int | None = Field(default=None, ge=1, description="Prompt + completion tokens a UTC day.")
    max_streams: int | None = Field(default=None, ge=1, description="Streaming requests open at once.")


class ApiKey(KeyLimits):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", description="The key's owner.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the key, hex.")
    created: float | None = None
    revoked: float | None = Field(default=None, description="When it was revoked (epoch seconds).")


class AuthSettings(KeyLimits):
    """``herd.auth`` in a run config: keys and the limits of keys that set none."""

    keys: list[ApiKey] = []


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def from_strings(values: list[str]) -> list[ApiKey]:
    """Keys given in clear (``--api-key``, ``HERD_API_KEYS``): ``KEY`` or ``NAME=KEY``."""
    keys = []
    for value in values:
        name, _, secret = value.rpartition("=") if "=" in value else ("", "", value)
        secret = secret.strip()
        if len(secret) < 8:
            raise ConfigError("an API key must be at least 8 characters; `herd keys create NAME` makes a good one")
        hashed = digest(secret)
        try:
            keys.append(ApiKey(name=name.strip() or f"key-{hashed[:8]}", sha256=hashed))
        except ValidationError as exc:
            raise ConfigError(f"API key name {name!r}: {exc.errors()[0]['msg']} (letters, digits, _.@-)") from exc
    return keys


def env_keys() -> list[str]:
    return [k for k in (os.environ.get("HERD_API_KEYS") or "").split(",") if k.strip()]


class KeyFile:
    """``$HERD_HOME/keys.yaml``: a list of ``ApiKey`` records, written atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or herd_home() / "keys.yaml"

    def read(self) -> list[ApiKey]:
        try:
            data = yaml.safe_load(self.path.read_text()) or []
        except FileNotFoundError:
            return []
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {self.path}: {exc}; fix or remove the file") from exc
        try:
            return [ApiKey.model_validate(item) for item in data]
        except (ValidationError, TypeError) as exc:
            raise ConfigError(f"{self.path} holds a malformed key record ({exc}); fix or remove it") from exc

    def write(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(yaml.safe_dump([k.model_dump(exclude_none=True) for k in keys], sort_keys=False))
        temporary.chmod(0o600)
        temporary.replace(self.path)

    def create(self, name: str, limits: KeyLimits) -> str:
        keys = self.read()
        if any(k.name == name and k.revoked is None for k in keys):
            raise ConfigError(
                f"a key named {name!r} exists; revoke it first (`herd keys revoke {name}`) or pick another"
            )
        secret = new_key()
        try:
            record = ApiKey(name=name, sha256=digest(secret), created=time.time(), **limits.model_dump())
        except ValidationError as exc:
            raise ConfigError(f"key name {name!r}: {exc.errors()[0]['msg']} (letters, digits, _.@-)") from exc
        self.write([*keys, record])
        return secret

    def revoke(self, name: str) -> int:
        keys = self.read()
        live = [k for k in keys if k.name == name and k.revoked is None]
        if not live:
            raise ConfigError(f"no live key named {name!r}; `herd keys list` shows them")
        now = time.time()
        self.write([k.model_copy(update={"revoked": now}) if k in live else k for k in keys])
        return len(live)


class KeyRing:
    """Every key the server accepts, with the file re-read when it changes."""

    def __init__(self, settings: AuthSettings, given: list[ApiKey], file: KeyFile | None = None) -> None:
        self.settings = settings
        self.fixed = [*settings.keys, *given]
        self.file = file or KeyFile()
        self._stamp: tuple[float, int] | None = None
        self._from_file: list[ApiKey] = []
        self._refresh()

    @property
    def enabled(self) -> bool:
        return bool(self.fixed or self._from_file or self.file.path.exists())

    def _refresh(self) -> None:
        try:
            stat = self.file.path.stat()
            stamp = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._from_file = self.file.read() if stamp else []
            self._stamp = stamp

    def find(self, secret: str) -> ApiKey | None:
        """The key record for a secret (revoked ones too), or None."""
        with contextlib.suppress(ConfigError):  # a half-edited file: keep the keys read last time
            self._refresh()
        hashed = digest(secret)
        found = None
        for key in [*self.fixed, *self._from_file]:
            if hmac.compare_digest(key.sha256, hashed):
                if key.revoked is None:
                    return key
                found = key
        return found

    def named(self, name: str) -> ApiKey | None:
        return next((k for k in [*self.fixed, *self._from_file] if k.name == name and k.revoked is None), None)

    def limit(self, key: ApiKey, field: str) -> Any:
        value = getattr(key, field)
        return value if value is not None else getattr(self.settings, field)
