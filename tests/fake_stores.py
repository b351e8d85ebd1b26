"""An in-memory stand-in for the server's Files and vector store API, as an httpx transport.

Enough of ``/v1/files`` and ``/v1/vector_stores`` for ``herd.apps.docs``: an attach
makes one chunk per line of the upload; a file named ``*.bad`` comes back failed, as a
corrupt file would; a file named in ``refuse`` gets an error status instead. It keeps a
record of every request, so tests can check what went over the wire.
"""

import itertools
import json
import re
from typing import Any

import httpx


class FakeStores:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.stores: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, dict[str, Any]]] = {}  # store id -> file id -> record
        self.uploads: dict[str, tuple[str, bytes]] = {}  # file id -> (filename, data)
        self.refuse = refuse or set()
        self.requests: list[str] = []
        self.ids = itertools.count()
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        self.requests.append(f"{request.method} {path}")
        for method, pattern, handler in self.routes():
            match = re.fullmatch(pattern, path)
            if match and request.method == method:
                status, body = handler(request, *match.groups())
                return httpx.Response(status, json=body)
        return httpx.Response(404, json={"error": {"message": f"no route {request.method} {path}"}})

    def routes(self) -> list[tuple[str, str, Any]]:
        store, file = r"/vector_stores/([^/]+)", r"/files/([^/]+)"
        return [
            ("GET", "/vector_stores", lambda r: (200, _page(list(self.stores.values())))),
            ("POST", "/vector_stores", self.create_store),
            ("GET", store + "/files", lambda r, s: (200, _page(list(self.records[s].values())))),
            ("POST", store + "/files", self.attach),
            ("DELETE", store + file, self.detach),
            ("GET", store + file + "/content", self.content),
            ("POST", "/files", self.upload),
            ("DELETE", file, self.delete_upload),
        ]

    def create_store(self, request: httpx.Request) -> tuple[int, Any]:
        store_id = f"vs_{len(self.stores)}"
        counts = {"completed": 0, "failed": 0, "in_progress": 0}
        self.stores[store_id] = {"id": store_id, "created_at": 0, "file_counts": counts, **json.loads(request.content)}
        self.records[store_id] = {}
        return 200, self.stores[store_id]

    def upload(self, request: httpx.Request) -> tuple[int, Any]:
        part = request.read().split(b'filename="', 1)[1]  # the file's part of the multipart body
        filename, rest = part.split(b'"', 1)
        data = rest.split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
        file_id = f"file-{next(self.ids):04d}"
        self.uploads[file_id] = (filename.decode(), data)
        return 200, {"id": file_id, "filename": self.uploads[file_id][0], "bytes": len(data)}

    def attach(self, request: httpx.Request, store_id: str) -> tuple[int, Any]:
        body = json.loads(request.content)
        filename, _ = self.uploads[body["file_id"]]
        if filename in self.refuse:
            return 500, {"error": {"message": f"cannot attach {filename}"}}
        failed = filename.endswith(".bad")
        record = {
            "id": body["file_id"],
            "attributes": body["attributes"],
            "status": "failed" if failed else "completed",
        }
        record["last_error"] = {"code": "server_error", "message": f"{filename}: corrupt"} if failed else None
        self.records[store_id][body["file_id"]] = record
        return 200, record

    def detach(self, request: httpx.Request, store_id: str, file_id: str) -> tuple[int, Any]:
        del self.records[store_id][file_id]
        return 200, {"id": file_id, "deleted": True}

    def content(self, request: httpx.Request, store_id: str, file_id: str) -> tuple[int, Any]:
        lines = self.uploads[file_id][1].decode().splitlines()
        return 200, {"data": [{"type": "text", "text": line} for line in lines]}

    def delete_upload(self, request: httpx.Request, file_id: str) -> tuple[int, Any]:
        if self.uploads.pop(file_id, None) is None:
            return 404, {"error": {"message": f"File '{file_id}' not found."}}
        return 200, {"id": file_id, "deleted": True}

    def add_record(self, store_id: str, path: str, sha256: str, status: str = "completed") -> str:
        """A record as an earlier or interrupted run would have left it."""
        file_id = f"file-old{next(self.ids):04d}"
        self.uploads[file_id] = ("old", b"old\n")
        self.records[store_id][file_id] = {
            "id": file_id,
            "attributes": {"path": path, "sha256": sha256},
            "status": status,
        }
        return file_id


def _page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": items, "has_more": False}
