"""Limits on a whole sandboxed call, which rlimits cannot set: its memory and CPU time over all its processes.

rlimits bind each process alone (ten processes under a 1 GiB address-space limit hold
10 GiB), so Herd samples the call's processes from outside every ``INTERVAL`` and kills
the call when their summed memory (PSS, so pages shared between them count once) or CPU
time passes the limit. Sampling lets a call overshoot by what it uses in one interval
(CPU: INTERVAL x cores; memory: what its processes touch in that time). A call's processes are those of its PID namespace; without
bubblewrap, the descendants of the first one.
"""

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

INTERVAL = 0.1
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Totals:
    memory_bytes: int = 0
    cpu_seconds: float = 0.0
    processes: int = 0


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds including waited-for children) of a process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / TICKS


def _memory(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def members(root: int, isolated: bool) -> list[int]:
    """The processes of the call whose first process (bwrap, or Python without it) is ``root``."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            parents[int(entry)] = stat[0]
    if isolated:
        own = _namespace(os.getpid())
        children = [pid for pid, parent in parents.items() if parent == root and _namespace(pid) != own]
        namespace = _namespace(children[0]) if children else None
        return [pid for pid in parents if namespace and _namespace(pid) == namespace]
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def totals(root: int, isolated: bool) -> Totals:
    pids = members(root, isolated)
    usage = Totals(processes=len(pids))
    for pid in pids:
        stat = _stat(pid)
        usage.cpu_seconds += stat[1] if stat else 0.0
        usage.memory_bytes += _memory(pid)
    return usage


async def watch(root: int, isolated: bool, memory_bytes: int, cpu_seconds: float) -> str:
    """Returns (the limit passed, in words) once the call's processes pass one; runs until cancelled otherwise."""
    while True:
        await asyncio.sleep(INTERVAL)
        usage = await asyncio.to_thread(totals, root, isolated)
        if usage.memory_bytes > memory_bytes:
            return f"memory limit of {memory_bytes // 2**20} MiB (all its processes together)"
        if usage.cpu_seconds > cpu_seconds:
            return f"CPU-time limit of {cpu_seconds:g} s"
