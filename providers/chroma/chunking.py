"""Token windows over a document, each an exact slice of its text with its location.

llama-stack's own chunker decodes each token window separately, which can split a
character; here the windows are cut at token boundaries of the original text
(tiktoken's offsets), so a chunk is always ``text[start:end]``.
"""

import functools
import time
from typing import Any

from llama_stack.providers.utils.memory.vector_store import _get_encoding
from llama_stack.providers.utils.vector_io.vector_utils import generate_chunk_id
from llama_stack_api import Chunk, ChunkMetadata

from .extract import Document

TOKENIZER = "cl100k_base"


@functools.cache
def _encoding() -> Any:
    from herd.distribution.server import seed_tiktoken_cache

    seed_tiktoken_cache()  # the offline cl100k_base, also outside the server (tests, benchmarks)
    return _get_encoding(TOKENIZER)


def token_offsets(text: str) -> list[int]:
    """Where each cl100k token of ``text`` starts, then ``len(text)``: token ``i`` is ``text[o[i]:o[i + 1]]``."""
    encoding = _encoding()
    _, offsets = encoding.decode_with_offsets(encoding.encode(text, disallowed_special=()))
    return [*offsets, len(text)]


def chunk_document(
    document_id: str, document: Document, window: int, overlap: int, attributes: dict[str, Any]
) -> list[Chunk]:
    if overlap >= window:
        raise ValueError(f"chunk overlap ({overlap} tokens) must be smaller than the chunk size ({window} tokens)")
    offsets = token_offsets(document.text)
    count = len(offsets) - 1
    now = int(time.time())
    chunks = []
    for first in range(0, count, window - overlap):
        last = min(first + window, count)
        start, end = offsets[first], offsets[last]
        text = document.text[start:end]
        if text.strip():
            chunk_window = f"{first}-{last}"
            chunk_id = generate_chunk_id(document_id, text, chunk_window)
            metadata = {**attributes, "document_id": document_id, "location": document.location(start, end)}
            chunks.append(
                Chunk(
                    content=text,
                    chunk_id=chunk_id,
                    metadata=metadata,
                    chunk_metadata=ChunkMetadata(
                        chunk_id=chunk_id,
                        document_id=document_id,
                        source=attributes.get("filename"),
                        created_timestamp=now,
                        updated_timestamp=now,
                        chunk_window=chunk_window,
                        chunk_tokenizer=f"tiktoken:{TOKENIZER}",
                        content_token_count=last - first,
                    ),
                )
            )
        if last == count:
            break
    return chunks
