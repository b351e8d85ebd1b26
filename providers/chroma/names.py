"""chromadb collection names for vector store ids."""

import hashlib
import re

_VALID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


def collection_name(vector_store_id: str) -> str:
    """The id itself when chromadb accepts it as a name (3-512 of ``[a-zA-Z0-9._-]``), else a stable hash of it."""
    if _VALID.match(vector_store_id) and ".." not in vector_store_id:
        return vector_store_id
    return "herd-" + hashlib.sha256(vector_store_id.encode()).hexdigest()[:40]
