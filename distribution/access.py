"""Who may call, and how much: bearer-key checks, request rate, open streams and daily tokens.

``Access.authenticate`` turns an ``Authorization`` header into the key's record (or
raises ``Unauthorized``); the record's ``name`` becomes llama-stack's principal, whose
stores then show each owner only what it made. The gates raise ``RateLimited`` with the
seconds to wait. Counters of requests and streams live in this process (one replica);
tokens a day are kept in ``$HERD_HOME/usage.db`` and so survive a restart.
"""

import hashlib
import hmac
import math
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from herd.distribution.keys import ApiKey, KeyRing
from herd.errors import RateLimited, Unauthorized

INTERNAL_PREFIX = "herd-internal."  # tokens this server gives its own MCP calls; see ``internal_token``
WINDOW = 60.0


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((midnight - now).total_seconds())


class TokenUsage:
    """Tokens used per owner per UTC day, in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS usage (owner TEXT, day TEXT, tokens INTEGER, PRIMARY KEY (owner, day))"
        )

    def used(self, owner: str) -> int:
        row = self.db.execute("SELECT tokens FROM usage WHERE owner = ? AND day = ?", (owner, _today())).fetchone()
        return int(row[0]) if row else 0

    def add(self, owner: str, tokens: int) -> None:
        if tokens > 0:
            self.db.execute(
                "INSERT INTO usage VALUES (?, ?, ?) ON CONFLICT (owner, day) DO UPDATE SET tokens = tokens + ?",
                (owner, _today(), tokens, tokens),
            )

    def close(self) -> None:
        self.db.close()


class Access:
    def __init__(self, ring: KeyRing, usage: TokenUsage, internal_secret: str) -> None:
        self.ring = ring
        self.usage = usage
        self.internal_secret = internal_secret
        self.recent: dict[str, deque[float]] = {}
        self.streams: Counter[str] = Counter()

    @property
    def enabled(self) -> bool:
        return self.ring.enabled

    def authenticate(self, header: str | None) -> str:
        """The caller's owner name; raises ``Unauthorized`` with what to do."""
        if not header:
            raise Unauthorized(
                "this server needs an API key: send `Authorization: Bearer KEY` (clients: --api-key or HERD_API_KEY)"
            )
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("the Authorization header must be `Bearer KEY`")
        secret = secret.strip()
        if secret.startswith(INTERNAL_PREFIX):
            return self._internal_owner(secret)
        key = self.ring.find(secret)
        if key is None:
            raise Unauthorized("this API key is not known to the server; check it, or ask for one (`herd keys create`)")
        if key.revoked is not None:
            when = datetime.fromtimestamp(key.revoked, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise Unauthorized(f"this API key (named {key.name!r}) was revoked on {when}; ask for a new one")
        self._count_request(key)
        return key.name

    def internal_token(self, owner: str) -> str:
        """A token for this server's calls to its own MCP routes on ``owner``'s behalf (lives as long as the process)."""
        mac = hmac.new(self.internal_secret.encode(), owner.encode(), hashlib.sha256).hexdigest()
        return f"{INTERNAL_PREFIX}{owner}.{mac}"

    def _internal_owner(self, token: str) -> str:
        owner, _, _mac = token[len(INTERNAL_PREFIX) :].rpartition(".")
        if not owner or not hmac.compare_digest(self.internal_token(owner), token):
            raise Unauthorized("this server-issued token is not valid here (the server restarted?); retry the request")
        return owner

    def _count_request(self, key: ApiKey) -> None:
        limit = self.ring.limit(key, "requests_per_minute")
        if limit is None:
            return
        now = time.monotonic()
        recent = self.recent.setdefault(key.name, deque())
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        if len(recent) >= limit:
            wait = math.ceil(recent[0] + WINDOW - now)
            raise RateLimited(f"key {key.name!r} is limited to {limit} requests a minute; retry in {wait} s", wait)
        recent.append(now)

    def check_tokens(self, owner: str) -> None:
        key = self.ring.named(owner)
        limit = self.ring.limit(key, "tokens_per_day") if key else None
        if limit is not None and (used := self.usage.used(owner)) >= limit:
            wait = _seconds_to_midnight()
            raise RateLimited(
                f"key {owner!r} used {used} of its {limit} tokens for today (UTC); the quota renews in {wait} s",
                wait,
            )

    def open_stream(self, owner: str) -> Callable[[], None]:
        """Take one of ``owner``'s open-stream places; returns what gives it back."""
        key = self.ring.named(owner)
        limit = self.ring.limit(key, "max_streams") if key else None
        if limit is not None and self.streams[owner] >= limit:
            raise RateLimited(
                f"key {owner!r} already has {limit} streams open, its limit; wait for one to end or close it", 1
            )
        self.streams[owner] += 1

        def release() -> None:
            self.streams[owner] -= 1

        return release
