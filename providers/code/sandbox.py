"""Runs Python code in a fresh bubblewrap sandbox per call and reports what it did.

The sandbox sees a read-only system (``/usr``, the Python install, its site-packages), a
size-capped tmpfs scratch directory (its working directory, the only writable place besides
a small ``/tmp``), no network (its own empty network namespace), its own PID namespace, and
runs under resource limits set by ``sandbox_boot.py``: CPU time, address space, file size,
process count. Herd enforces wall time and output size from outside and kills the whole
process group; the PID namespace takes every process the code started with it.

When Herd runs as root, the code runs under a uid of its own (picked per call), so the
process-count limit counts only the sandbox's processes and the code holds no capability.
"""

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import site
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from herd.errors import ToolUnavailable
from herd.providers.code.limits import Limits
from herd.providers.tools.spec import Attachment

from . import sandbox_files, sandbox_watch

BOOT = Path(__file__).with_name("sandbox_boot.py")
SCRATCH = "/scratch"
# An empty fontconfig setup: matplotlib asks fc-list for fonts and uses its own when it finds none.
FONTS_CONF = '<?xml version="1.0"?>\n<fontconfig></fontconfig>\n'


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: int | None
    limit: str | None = None  # which limit stopped the code, in words
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    files: list[Attachment] = field(default_factory=list)
    images: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isolation: str = "bwrap"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for extra in ("/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(extra):
            args += ["--ro-bind", extra, extra]
    return args


def python_paths() -> tuple[str, list[str]]:
    """The real interpreter and the site-packages to offer the code (the running venv's)."""
    interpreter = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return interpreter, [p for p in site.getsitepackages() if os.path.isdir(p)]


def bwrap_command(bwrap: str, job: Path, limits: Limits, settings: dict[str, object]) -> list[str]:
    interpreter, packages = python_paths()
    args = [bwrap, *_system_binds()]
    # The tmpfs mounts come first: the Python paths may lie under /tmp (a venv in a fresh
    # clone there), and a later tmpfs on /tmp would hide them.
    args += ["--size", str(limits.scratch_bytes), "--tmpfs", SCRATCH]
    args += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    args += ["--chmod", "0777", SCRATCH, "--chmod", "1777", "/tmp"]
    mounts = sorted({sys.base_prefix, *packages})
    # bwrap makes missing parent directories 0700, which the sandbox's uid could not cross.
    parents = {str(p) for path in [*mounts, "/sandbox/x"] for p in Path(path).parents} - {"/", "/tmp", SCRATCH}
    for parent in sorted(parents):
        args += ["--perms", "0755", "--dir", parent]
    for path in mounts:
        args += ["--ro-bind", path, path]
    for name in ("code.py", "fonts.conf"):
        args += ["--ro-bind", str(job / name), f"/sandbox/{name}"]
    args += ["--ro-bind", str(BOOT), "/sandbox/boot.py"]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", SCRATCH]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.getuid() != 0:
        args += ["--unshare-user"]
    else:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # dropped by boot with the uid
    args += ["--die-with-parent", "--new-session", "--clearenv", *_env_args(SCRATCH)]
    return [*args, interpreter, "-I", "-B", "-u", "/sandbox/boot.py", json.dumps(settings)]


def _env(scratch: str, tmp: str) -> dict[str, str]:
    return {
        "HOME": scratch,
        "TMPDIR": tmp,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        "XDG_CACHE_HOME": f"{tmp}/.cache",
        "FONTCONFIG_FILE": "/sandbox/fonts.conf",
    }


def _env_args(scratch: str) -> list[str]:
    return [arg for key, value in _env(scratch, "/tmp").items() for arg in ("--setenv", key, value)]


def weaker_command(job: Path) -> tuple[list[str], dict[str, str]]:
    scratch = str(job / "scratch")
    env = _env(scratch, scratch) | {"FONTCONFIG_FILE": str(job / "fonts.conf")}
    return [python_paths()[0], "-I", "-B", "-u", str(BOOT)], env


class Sandbox:
    """Runs code under ``limits``; ``allow_weaker`` permits resource limits alone where bwrap is missing."""

    def __init__(self, limits: Limits, allow_weaker: bool = False, bwrap: str | None = None) -> None:
        self.limits = limits
        self.allow_weaker = allow_weaker
        self.bwrap = bwrap if bwrap is not None else bwrap_path()

    @property
    def isolation(self) -> str:
        return "bwrap" if self.bwrap else ("rlimits-only" if self.allow_weaker else "unavailable")

    def check(self) -> None:
        if self.isolation == "rlimits-only" and os.getuid() == 0 and not _readable_by_others(sys.base_prefix):
            raise ToolUnavailable(
                f"the code tool cannot run without bubblewrap here: as root it runs code under a uid of its own, "
                f"which cannot read the Python at {sys.base_prefix} (a folder on its path is closed to other users); "
                "install bubblewrap (apt-get install bubblewrap)"
            )
        if self.isolation == "unavailable":
            raise ToolUnavailable(
                "the code tool needs bubblewrap (bwrap), which is not installed: install it (Debian/Ubuntu: "
                "apt-get install bubblewrap), or set `allow_weaker_isolation: true` in the tools provider's config "
                "to run code under resource limits only, with no filesystem or network isolation"
            )

    async def run(self, code: str) -> SandboxResult:
        self.check()
        started = time.perf_counter()
        job = Path(tempfile.mkdtemp(prefix="herd-code-"))
        try:
            result = await self._run(code, job)
        finally:
            shutil.rmtree(job, ignore_errors=True)
        result.seconds = time.perf_counter() - started
        return result

    async def _run(self, code: str, job: Path) -> SandboxResult:
        (job / "code.py").write_text(code, encoding="utf-8")
        (job / "fonts.conf").write_text(FONTS_CONF, encoding="utf-8")
        os.chmod(job, 0o755)
        for name in ("code.py", "fonts.conf"):
            os.chmod(job / name, 0o644)
        uid = 1_000_000_000 + secrets.randbelow(1_000_000_000) if os.getuid() == 0 else None
        read_end, write_end = os.pipe()
        settings: dict[str, object] = {**self.limits.boot_settings(), "uid": uid, "status_fd": write_end}
        if self.bwrap:
            settings.update(code="/sandbox/code.py", scratch=SCRATCH, site_packages=python_paths()[1])
            command, env = bwrap_command(self.bwrap, job, self.limits, settings), None
        else:
            scratch = job / "scratch"
            scratch.mkdir(mode=0o700)
            if uid is not None:
                os.chown(scratch, uid, uid)
            settings.update(code=str(job / "code.py"), scratch=str(scratch), site_packages=python_paths()[1])
            command, env = weaker_command(job)
            command.append(json.dumps(settings))
        # Plain pipes, made here: an event loop such as uvloop would give the code socket pairs.
        (out_read, out_write), (err_read, err_write) = os.pipe(), os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out_write,
                stderr=err_write,
                pass_fds=(write_end,),
                start_new_session=True,
                env=env,
            )
        except BaseException:
            for fd in (read_end, out_read, err_read):
                os.close(fd)
            raise
        finally:
            for fd in (write_end, out_write, err_write):
                os.close(fd)
        return await self._watch(process, (out_read, err_read, read_end), uid)

    async def _watch(
        self, process: asyncio.subprocess.Process, fds: tuple[int, int, int], uid: int | None
    ) -> SandboxResult:
        limits = self.limits
        stop = asyncio.Event()
        out, err, status = fds
        readers = [
            asyncio.create_task(sandbox_files.read_fd_capped(out, limits.output_bytes, stop)),
            asyncio.create_task(sandbox_files.read_fd_capped(err, limits.output_bytes, stop)),
            asyncio.create_task(sandbox_files.read_fd_capped(status, limits.return_bytes)),
        ]
        limit = None
        waited, stopped = asyncio.create_task(process.wait()), asyncio.create_task(stop.wait())
        watched = asyncio.create_task(
            sandbox_watch.watch(process.pid, bool(self.bwrap), limits.memory_bytes, limits.cpu_seconds)
        )
        try:
            done, _ = await asyncio.wait(
                {waited, stopped, watched}, timeout=limits.wall_seconds, return_when="FIRST_COMPLETED"
            )
            if watched in done:
                limit = watched.result()
            elif waited not in done:
                limit = "output" if stop.is_set() else f"wall-time limit of {limits.wall_seconds:g} s"
        finally:
            stopped.cancel()
            watched.cancel()
            _kill(process)
            await waited
        leftovers = await _kill_uid(uid) if uid is not None else 0
        # A process left behind without a PID namespace (the weaker mode, not as root) could keep the pipes open.
        _, pending = await asyncio.wait(readers, timeout=5)
        for reader in pending:
            reader.cancel()
        empty: tuple[bytes, bool] = (b"", False)
        (stdout, out_cut), (stderr, err_cut), (tar, tar_cut) = [
            empty if r in pending or r.cancelled() else r.result() for r in readers
        ]
        if limit == "output":
            limit = f"output limit of {limits.output_bytes} bytes"
        result = SandboxResult(
            stdout=stdout.decode("utf-8", "replace"),
            stderr=stderr.decode("utf-8", "replace"),
            exit_code=process.returncode,
            stdout_truncated=out_cut,
            stderr_truncated=err_cut,
            isolation=self.isolation,
        )
        result.limit = limit or _limit_from_exit(process.returncode, result.stderr, limits)
        sandbox_files.unpack(tar, tar_cut, limits, result)
        if leftovers:
            result.notes.append(f"{leftovers} leftover processes were killed")
        if pending:
            result.notes.append("a process the code left running kept its output open; that output is not returned")
        if self.isolation != "bwrap":
            result.notes.append("ran under resource limits only (no bubblewrap): no filesystem or network isolation")
        return result


def _readable_by_others(path: str) -> bool:
    return all(folder.stat().st_mode & 1 for folder in [Path(path), *Path(path).parents])


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _uid_processes(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                found.append(int(entry.name))
        except FileNotFoundError:
            continue
    return found


async def _kill_uid(uid: int) -> int:
    """Kill what still runs as the sandbox's uid a second after the sandbox ended (the PID namespace
    should have taken everything; its processes can take a moment to go)."""
    for _ in range(20):
        if not _uid_processes(uid):
            return 0
        await asyncio.sleep(0.05)
    left = _uid_processes(uid)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(left)


def _limit_from_exit(code: int | None, stderr: str, limits: Limits) -> str | None:
    if code is None:
        return None
    number = -code if code < 0 else code - 128 if code > 128 else 0
    if number == signal.SIGXCPU:
        return f"CPU-time limit of {limits.cpu_seconds} s"
    if number == signal.SIGXFSZ:
        return f"file-size limit of {limits.file_bytes} bytes"
    if "the sandbox's memory limit was reached" in stderr:
        return f"memory limit of {limits.memory_bytes // 2**20} MiB"
    if number == signal.SIGKILL:
        return "killed (CPU-time or memory limit)"
    return None
