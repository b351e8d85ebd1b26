"""``GET /v1/herd/conversations``: the stored conversations, newest first.

OpenAI's Conversations API, and llama-stack's after it, can create, read, update and
delete a conversation by id but cannot list them; a chat client needs the list to
offer the old ones. Herd reads the rows of llama-stack's conversations table directly,
through the store's access-controlled ``fetch_all``.
"""

from typing import Any
from urllib.parse import parse_qs

from herd.errors import InvalidRequest

TABLE = "openai_conversations"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def limit(query_string: bytes) -> int:
    """The ``limit`` of a query string (``DEFAULT_LIMIT`` when absent)."""
    values = parse_qs(query_string.decode("latin-1")).get("limit")
    if not values:
        return DEFAULT_LIMIT
    value = values[-1]
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_LIMIT} (got {value!r}); e.g. ?limit=50")
    return int(value)


async def listing(conversations: Any, query_string: bytes) -> dict[str, Any]:
    """The list reply for ``conversations``, llama-stack's ConversationServiceImpl."""
    rows = await conversations.sql_store.fetch_all(
        table=TABLE, order_by=[("created_at", "desc")], limit=limit(query_string)
    )
    data = [
        {
            "id": row["id"],
            "created_at": row["created_at"],
            "metadata": row.get("metadata") or {},
            "object": "conversation",
        }
        for row in rows.data
    ]
    return {"object": "list", "data": data}
