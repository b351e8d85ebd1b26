"""The server's Files and vector store API (OpenAI-compatible, under /v1), over httpx.

Errors become Herd's: a server that does not answer is a ConfigError, a refusal a
HerdError carrying the server's message. Tests may pass an httpx transport.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from herd.errors import ConfigError, HerdError, InvalidRequest

PAGE = 100  # the most llama-stack returns per page
TIMEOUT = httpx.Timeout(30.0, read=900.0)  # an attach embeds the whole file before it answers


class StoreNotFound(InvalidRequest):
    """No vector store of that name on the server."""


class Refused(HerdError):
    """The server answered a request with an error status (``status``)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class StoreClient:
    def __init__(self, url: str, transport: httpx.BaseTransport | None = None, api_key: str | None = None) -> None:
        self.url = url
        key = api_key or os.environ.get("HERD_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else None
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/v1", timeout=TIMEOUT, transport=transport, headers=headers
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ConfigError(
                f"no Herd server answers at {self.url} ({exc}); start one with `herd run` or fix --url"
            ) from exc
        if reply.status_code >= 400:
            message = f"the server refused {method} /v1{path} ({reply.status_code}): {_message(reply)}"
            raise Refused(message, reply.status_code)
        return reply.json()

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following ``after`` cursors."""
        after: str | None = None
        while True:
            page = self.request("GET", path, params={**params, "limit": PAGE, **({"after": after} if after else {})})
            yield from page["data"]
            if not page.get("has_more") or not page["data"]:
                return
            after = page["data"][-1]["id"]

    # -- stores ------------------------------------------------------------------

    def stores(self) -> list[dict[str, Any]]:
        return list(self.pages("/vector_stores"))

    def find_store(self, name: str) -> dict[str, Any] | None:
        """The store called ``name`` (the oldest, if several are); None if there is none."""
        named = [s for s in self.stores() if s.get("name") == name]
        return min(named, key=lambda s: s["created_at"]) if named else None

    def store(self, name: str) -> dict[str, Any]:
        found = self.find_store(name)
        if found is None:
            raise StoreNotFound(
                f"no vector store named {name!r} at {self.url}; create it with `herd stores create {name}` "
                f"or `herd docs add PATH --store {name}`, or see `herd stores list`"
            )
        return found

    def create_store(self, name: str) -> dict[str, Any]:
        return dict(self.request("POST", "/vector_stores", json={"name": name}))

    def delete_store(self, store_id: str) -> None:
        self.request("DELETE", f"/vector_stores/{store_id}")

    # -- files -------------------------------------------------------------------

    def files(self, store_id: str) -> list[dict[str, Any]]:
        return list(self.pages(f"/vector_stores/{store_id}/files"))

    def upload(self, path: Path, data: bytes) -> dict[str, Any]:
        return dict(self.request("POST", "/files", files={"file": (path.name, data)}, data={"purpose": "assistants"}))

    def attach(self, store_id: str, file_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
        body = {"file_id": file_id, "attributes": attributes}
        return dict(self.request("POST", f"/vector_stores/{store_id}/files", json=body))

    def chunk_count(self, store_id: str, file_id: str) -> int:
        return len(self.request("GET", f"/vector_stores/{store_id}/files/{file_id}/content")["data"])

    def detach(self, store_id: str, file_id: str) -> None:
        """Remove a file from a store (its chunks and record), then its upload."""
        self.request("DELETE", f"/vector_stores/{store_id}/files/{file_id}")
        self.delete_upload(file_id)

    def delete_upload(self, file_id: str) -> None:
        try:
            self.request("DELETE", f"/files/{file_id}")
        except Refused as exc:
            if exc.status != 404:  # gone already: the goal is reached
                raise

    def uploads(self) -> dict[str, dict[str, Any]]:
        return {f["id"]: f for f in self.pages("/files")}

    def search(self, store_id: str, query: str, k: int, mode: str) -> list[dict[str, Any]]:
        body = {"query": query, "max_num_results": k, "search_mode": mode}
        return list(self.request("POST", f"/vector_stores/{store_id}/search", json=body)["data"])


def _message(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text.strip() or reply.reason_phrase
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or body)
    return str(error)
