"""A full disk under Herd's stores, recognised in its several disguises and answered 507.

``ENOSPC`` (or a quota's ``EDQUOT``) from a write, and sqlite's "database or disk is
full" (raw or wrapped by SQLAlchemy), all mean the same to a client: nothing more can
be stored until space is freed. Reads keep working, and so do deletes, which free it.
"""

import errno
import sqlite3

from herd.errors import StorageFull

_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_SQLITE_FULL = "database or disk is full"


def is_disk_full(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:  # SQLAlchemy keeps sqlite's error as `orig`, others chain it as the cause
        if isinstance(seen, OSError) and seen.errno in _ERRNOS:
            return True
        if isinstance(seen, sqlite3.OperationalError) and _SQLITE_FULL in str(seen):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def storage_full(exc: BaseException, where: str) -> StorageFull:
    return StorageFull(
        f"the disk holding Herd's stores ({where}) is full ({exc}); nothing was stored. Free space, e.g. "
        "delete files no longer needed (DELETE /v1/files/{id}), and retry"
    )
