"""llama-stack's local files, with failed uploads cleaned up and a full disk reported as such.

llama-stack writes an upload's bytes, then its record. When either fails (``ENOSPC``,
sqlite's "database or disk is full") it leaves the bytes written so far: a file no
record points at, holding the very space the disk lacks. Here the file goes, and a full
disk becomes ``StorageFull`` (507), whose message says where and what to free.
"""

import contextvars
from typing import Any

from llama_stack.providers.inline.files.localfs.files import LocalfsFilesImpl

from herd.distribution.disk_full import is_disk_full, storage_full

# The id of the upload running in this task: llama-stack draws it inside openai_upload_file.
_UPLOADING: contextvars.ContextVar[str | None] = contextvars.ContextVar("herd_uploading", default=None)


class HerdLocalFiles(LocalfsFilesImpl):
    def _generate_file_id(self) -> str:
        file_id = super()._generate_file_id()
        _UPLOADING.set(file_id)
        return file_id

    async def openai_upload_file(self, request: Any, file: Any) -> Any:
        token = _UPLOADING.set(None)
        try:
            return await super().openai_upload_file(request, file)
        except Exception as exc:
            file_id = _UPLOADING.get()
            if file_id is not None:  # no record was written: the upload failed on or before the insert
                self._get_file_path(file_id).unlink(missing_ok=True)
            if is_disk_full(exc):
                raise storage_full(exc, self.config.storage_dir) from exc
            raise
        finally:
            _UPLOADING.reset(token)
