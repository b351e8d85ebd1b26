"""Attempts to get out of the code tool's sandbox, as data: code to run and a check of whether it got out.

Each ``Escape`` has a ``code_template`` and an ``escaped(stdout, stderr, marker_dir)`` check
that is True when the attempt SUCCEEDED (the sandbox failed). The check reads only the
code's stdout/stderr text and side effects on the host (files appearing, listeners
contacted, processes left running), never a ``SandboxResult``, so a test that reaches the
tool through the CLI or the HTTP API can use it on the ``stdout``/``stderr`` it got back.

The code prints a line starting with ``ESCAPED`` only when the forbidden action worked and
``BLOCKED ...`` when it was refused. What the code cannot know itself (a UDP datagram
arriving, a daemon still running after the call) the host side checks.

    with HostProbe() as probe:              # marker dir, listeners, a secret, ~/.ssh probe file
        code = probe.render(escape)         # or escape.render(port, marker, **values)
        ...run code through the tool...
        assert not probe.escaped(escape, stdout, stderr)
    assert not stray_sandbox_processes()

Placeholders in templates: ``{port}`` (TCP on 127.0.0.1), ``{udp_port}``, ``{lan_ip}`` and
``{lan_port}`` (TCP on the host's own non-loopback address), ``{marker}`` (a host directory
outside the sandbox, mode 0777 so only isolation keeps the code out), ``{tag}`` (the marker
dir's name, for unique host paths), ``{host_pid}``, ``{ssh_probe}``, ``{project}``,
``{herd_home}``, ``{site_packages}``, ``{stdlib}``, ``{abstract}`` (an abstract unix socket
name) and ``{shm_key}`` (a SysV shared-memory key). Only these names are replaced, so the
code keeps its own braces.

Attempts that would harm the host if they worked are made harmless: a sysctl is opened for
writing but not written, the clock is "set" to the current time, the memory bomb across
processes maps memory without touching it.
"""

import contextlib
import ctypes
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import site
import socket
import sysconfig
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from herd.distribution.home import herd_home

SANDBOX_UID_MIN = 1_000_000_000
PROJECT = Path(__file__).resolve().parent.parent
PROBE_FILE = "probe.json"
SECRET_FILE = "secret"
ENV_PROBE = "HERD_ESCAPE_PROBE"
PLACEHOLDERS = (
    "port",
    "udp_port",
    "lan_ip",
    "lan_port",
    "marker",
    "tag",
    "host_pid",
    "ssh_probe",
    "project",
    "herd_home",
    "site_packages",
    "stdlib",
    "abstract",
    "shm_key",
)
PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
ESCAPED_LINE = re.compile(r"^ESCAPED\b", re.M)
BLOCKED_LINE = re.compile(r"^BLOCKED\b", re.M)
UID_LINE = re.compile(r"^SANDBOX_UID (\d+)$", re.M)
# Host paths the write attempts aim at; a file appearing at one means the sandbox leaked.
WRITE_TARGETS = (
    "/usr/{tag}",
    "/{tag}",
    "{site_packages}/{tag}.pth",
    "{stdlib}/{tag}.py",
    "/dev/shm/{tag}",
    "{project}/{tag}",
)

Check = Callable[[str, str, Path], bool]


def default_values(marker: Path) -> dict[str, object]:
    """What the placeholders stand for when no ``HostProbe`` wrote them down (listeners then absent)."""
    return {
        "port": 0,
        "udp_port": 0,
        "lan_ip": "",
        "lan_port": 0,
        "marker": str(marker),
        "tag": marker.name,
        "host_pid": os.getpid(),
        "ssh_probe": str(Path.home() / ".ssh" / "herd_escape_probe"),
        "project": str(PROJECT),
        "herd_home": str(herd_home()),
        "site_packages": site.getsitepackages()[0],
        "stdlib": sysconfig.get_paths()["stdlib"],
        "abstract": f"herd-escape-{marker.name}",
        "shm_key": 0,
    }


def probe_values(marker: Path) -> dict[str, object]:
    values = default_values(marker)
    with contextlib.suppress(OSError, ValueError):
        values.update(json.loads((marker / PROBE_FILE).read_text()))
    return values


def fill(template: str, values: dict[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


@dataclass(frozen=True)
class Escape:
    name: str
    code_template: str
    escaped: Check
    # A regex the limit sentence must match when this attempt runs into a limit ("memory", "CPU", ...).
    limit: str | None = None
    # Set for a known, reported weakness: the attempt is expected to succeed until the sandbox is fixed.
    weakness: str | None = None
    # Limits to run it under where the harness can choose (``Limits`` fields); others keep theirs.
    limits: Mapping[str, float] | None = None

    def render(self, port: int, marker: str | os.PathLike[str], **values: object) -> str:
        path = Path(marker)
        return fill(self.code_template, {**probe_values(path), **values, "port": port, "marker": str(path)})


# --- checks --------------------------------------------------------------------------------


def printed(stdout: str, stderr: str, marker: Path) -> bool:
    return bool(ESCAPED_LINE.search(stdout))


def unless_blocked(stdout: str, stderr: str, marker: Path) -> bool:
    """Escaped unless the code got as far as ``TRYING`` and reported being refused (a killed supervisor
    would take the code with it before it could say ``ESCAPED``)."""
    return printed(stdout, stderr, marker) or "TRYING" not in stdout or not BLOCKED_LINE.search(stdout)


def shown_secret(stdout: str, stderr: str, marker: Path) -> bool:
    try:
        secret = (marker / SECRET_FILE).read_text().strip()
    except OSError:
        return False
    return bool(secret) and (secret in stdout or secret in stderr)


def landed(*names: str, wait: float = 0.0) -> Check:
    """Escaped if any of these files appeared in the marker dir (listeners write them when contacted)."""

    def check(stdout: str, stderr: str, marker: Path) -> bool:
        deadline = time.monotonic() + wait
        while True:
            if any((marker / name).exists() for name in names):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    return check


def host_files(stdout: str, stderr: str, marker: Path) -> bool:
    values = probe_values(marker)
    return any(os.path.lexists(fill(target, values)) for target in WRITE_TARGETS)


def left_behind(stdout: str, stderr: str, marker: Path) -> bool:
    """Escaped if a process of the uid the code printed (``SANDBOX_UID n``) still runs a second later."""
    uids = {int(uid) for uid in UID_LINE.findall(stdout) if int(uid) >= SANDBOX_UID_MIN}
    deadline = time.monotonic() + 1.0
    while any(sandbox_processes(uid) for uid in uids):
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
    return False


def host_pid_gone(stdout: str, stderr: str, marker: Path) -> bool:
    pid = int(str(probe_values(marker)["host_pid"]))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


def flooded(stdout: str, stderr: str, marker: Path) -> bool:
    """Escaped if the host kept megabytes of output (the tool keeps tens of kilobytes)."""
    return len(stdout) > 2**20 or len(stderr) > 2**20


def hostname_changed(stdout: str, stderr: str, marker: Path) -> bool:
    return socket.gethostname().startswith("herd-escape")


def any_of(*checks: Check) -> Check:
    def check(stdout: str, stderr: str, marker: Path) -> bool:
        return any(c(stdout, stderr, marker) for c in checks)

    return check


def _code(source: str) -> str:
    # The sandbox's stdout is block-buffered (see test_output_before_a_limit_is_kept): a line
    # printed before a kill would be lost, so the attempts flush each line.
    return "import sys\nsys.stdout.reconfigure(line_buffering=True)\n" + textwrap.dedent(source).strip() + "\n"


# --- the attempts --------------------------------------------------------------------------

NETWORK = [
    Escape(
        "tcp-to-host-loopback",
        _code("""
            import socket
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", {port}))
            except OSError as exc:
                print("BLOCKED", exc)
            else:
                print("ESCAPED: connected to the host's listener on 127.0.0.1:{port}")
        """),
        any_of(printed, landed("tcp")),
    ),
    Escape(
        "tcp-to-host-lan-address",
        _code("""
            import socket
            if not "{lan_ip}":
                print("BLOCKED: the host has no other address to try")
            else:
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect(("{lan_ip}", {lan_port}))
                except OSError as exc:
                    print("BLOCKED", exc)
                else:
                    print("ESCAPED: connected to the host's listener on {lan_ip}:{lan_port}")
        """),
        any_of(printed, landed("lan")),
    ),
    Escape(
        "udp-to-host-loopback",
        _code("""
            import socket
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                for _ in range(3):
                    u.sendto(b"herd-escape", ("127.0.0.1", {udp_port}))
            except OSError as exc:
                print("BLOCKED", exc)
            else:
                print("SENT: only the host's listener can tell whether it arrived")
        """),
        landed("udp", wait=0.5),
    ),
    Escape(
        "dns-resolve-external-host",
        _code("""
            import socket
            for host in ["example.com", "one.one.one.one"]:
                try:
                    print("ESCAPED: resolved", host, socket.getaddrinfo(host, 443)[0][4])
                except OSError as exc:
                    print("BLOCKED", host, exc)
        """),
        printed,
    ),
    Escape(
        "tcp-to-external-host",
        _code("""
            import socket
            for address in [("1.1.1.1", 53), ("8.8.8.8", 53), ("2606:4700:4700::1111", 53)]:
                family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
                s = socket.socket(family)
                s.settimeout(3)
                try:
                    s.connect(address)
                except OSError as exc:
                    print("BLOCKED", address, exc)
                else:
                    print("ESCAPED: connected to", address)
        """),
        printed,
    ),
    Escape(
        "abstract-unix-socket-of-host",
        _code("""
            import socket
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect("\\0{abstract}")
            except OSError as exc:
                print("BLOCKED", exc)
            else:
                print("ESCAPED: connected to the host's abstract socket")
        """),
        any_of(printed, landed("unix")),
    ),
    Escape(
        "network-interfaces",
        _code("""
            import socket
            names = [name for _, name in socket.if_nameindex()]
            others = [name for name in names if name != "lo"]
            print("ESCAPED: interfaces besides lo:", others) if others else print("BLOCKED: only", names)
        """),
        printed,
    ),
]

READS = [
    Escape(
        "read-ssh-dir",
        _code("""
            import os
            for path in ["{ssh_probe}", "/root/.ssh/herd_escape_probe", os.path.expanduser("~/.ssh/herd_escape_probe")]:
                try:
                    print("ESCAPED: read", path, open(path).read())
                except OSError as exc:
                    print("BLOCKED", path, exc)
            for folder in [os.path.dirname("{ssh_probe}"), "/root/.ssh"]:
                try:
                    names = os.listdir(folder)
                except OSError as exc:
                    print("BLOCKED", folder, exc)
                else:
                    print("ESCAPED: listed" if "herd_escape_probe" in names else "EMPTY", folder, names)
        """),
        any_of(printed, shown_secret),
    ),
    Escape(
        "read-host-temp-file",
        _code("""
            for path in ["{marker}/secret", "/proc/1/root{marker}/secret", "/proc/self/root{marker}/secret"]:
                try:
                    print("ESCAPED: read", path, open(path).read())
                except OSError as exc:
                    print("BLOCKED", path, exc)
        """),
        any_of(printed, shown_secret),
    ),
    Escape(
        "read-etc-shadow",
        _code("""
            import glob
            for path in ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", *glob.glob("/etc/ssh/ssh_host_*_key")]:
                try:
                    text = open(path).read()
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("ESCAPED: read", path, text[:200])
        """),
        printed,
    ),
    Escape(
        "read-project-source",
        _code("""
            import os
            for path in ["{project}/README.md", "{project}/pyproject.toml", "{project}/providers/code/sandbox.py"]:
                try:
                    print("ESCAPED: read", path, open(path).read()[:80])
                except OSError as exc:
                    print("BLOCKED", path, exc)
            names = sorted(os.listdir("{project}"))
            print("ESCAPED: the project folder holds", names) if names != [".venv"] else print("BLOCKED: only .venv")
        """),
        printed,
    ),
    Escape(
        "import-project-package",
        _code("""
            try:
                import herd
                source = open(herd.__file__).read()
            except Exception as exc:
                print("BLOCKED", type(exc).__name__, exc)
            else:
                print("ESCAPED: imported herd from", herd.__file__, len(source))
        """),
        printed,
    ),
    Escape(
        "read-herd-home",
        _code("""
            import os
            for path in ["{herd_home}", "/root/.herd"]:
                try:
                    print("ESCAPED: listed", path, os.listdir(path)[:20])
                except OSError as exc:
                    print("BLOCKED", path, exc)
        """),
        printed,
    ),
    Escape(
        "list-host-directories",
        _code("""
            import os
            host_only = {"home", "var", "opt", "srv", "boot", "mnt", "media", "run", "sys"}
            seen = sorted(set(os.listdir("/")) & host_only)
            print("ESCAPED: host directories in /:", seen) if seen else print("BLOCKED: / holds", os.listdir("/"))
            for path in ["/home", "/var/log", "/run", "/sys/class/net", "/etc/passwd"]:
                try:
                    print("ESCAPED: listed", path, os.listdir(path)[:10] if os.path.isdir(path) else open(path).read(80))
                except OSError as exc:
                    print("BLOCKED", path, exc)
            root = sorted(os.listdir("/root"))
            print("ESCAPED: /root holds", root) if root != [".pyenv"] else print("BLOCKED: /root holds", root)
        """),
        printed,
    ),
    Escape(
        "host-environment",
        _code(
            """
            import os
            print("ESCAPED: the host's environment" if "{ENV}" in os.environ else "BLOCKED", sorted(os.environ))
            for pid in ["1", "self"]:
                try:
                    print("ESCAPED: environ of", pid, open(f"/proc/{pid}/environ", "rb").read()[:300])
                except OSError as exc:
                    print("BLOCKED", pid, exc)
        """.replace("{ENV}", ENV_PROBE)
        ),
        any_of(printed, shown_secret),
    ),
    Escape(
        "leaked-descriptors",
        _code("""
            import os, stat
            leaked = []
            for fd in [int(n) for n in os.listdir("/proc/self/fd")]:
                try:
                    mode = os.fstat(fd).st_mode
                except OSError:
                    continue
                if stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode):
                    leaked.append((fd, os.readlink(f"/proc/self/fd/{fd}")))
            print("ESCAPED: host descriptors", leaked) if leaked else print("BLOCKED: only pipes and /dev/null")
        """),
        printed,
    ),
]

WRITES = [
    Escape(
        "write-usr",
        _code("""
            for path in ["/usr/{tag}", "/usr/herd_escape", "/{tag}", "/usr/bin/herd_escape"]:
                try:
                    open(path, "w").write("escaped")
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("ESCAPED: wrote", path)
        """),
        any_of(printed, host_files),
    ),
    Escape(
        "write-host-temp-dir",
        _code("""
            for path in ["{marker}/written", "/proc/1/root{marker}/written", "/proc/1/cwd/{tag}"]:
                try:
                    open(path, "w").write("escaped")
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("ESCAPED: wrote", path)
        """),
        any_of(printed, landed("written")),
    ),
    Escape(
        "write-job-dir-named-in-cmdline",
        _code("""
            import re
            cmdline = open("/proc/1/cmdline", "rb").read().decode(errors="replace")
            jobs = sorted(set(re.findall(r"/tmp/herd-code-[^/\\x00]+", cmdline)))
            print("found host job dirs", jobs)
            for job in jobs:
                for path in [job + "/code.py", job + "/herd_escape"]:
                    try:
                        open(path, "a").write("# escaped")
                    except OSError as exc:
                        print("BLOCKED", path, exc)
                    else:
                        print("ESCAPED: wrote", path)
            if not jobs:
                print("BLOCKED: no job dir named")
        """),
        printed,
    ),
    Escape(
        "write-site-packages",
        _code("""
            import glob
            existing = sorted(glob.glob("{site_packages}/*.pth"))[:1]
            for path, mode in [("{site_packages}/{tag}.pth", "w"), *[(p, "a") for p in existing]]:
                try:
                    with open(path, mode) as handle:
                        handle.write("")
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("ESCAPED: opened for writing", path)
        """),
        any_of(printed, host_files),
    ),
    Escape(
        "write-python-stdlib",
        _code("""
            import os
            for path, mode in [("{stdlib}/{tag}.py", "w"), (os.__file__, "a")]:
                try:
                    with open(path, mode) as handle:
                        handle.write("")
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("ESCAPED: opened for writing", path)
        """),
        any_of(printed, host_files),
    ),
    Escape(
        "write-proc-sys",
        _code("""
            import os
            paths = ["/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sys/kernel/hostname",
                     "/proc/sys/fs/file-max", "/proc/sysrq-trigger", "/proc/sys/kernel/pid_max"]
            for path in paths:
                try:
                    fd = os.open(path, os.O_WRONLY)  # opened, never written
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    os.close(fd)
                    print("ESCAPED: may write", path)
        """),
        printed,
    ),
    Escape(
        "write-through-symlink",
        _code("""
            import os
            links = {"to-marker": "{marker}/via-symlink", "to-usr": "/usr/{tag}", "to-project": "{project}/{tag}"}
            for link, target in links.items():
                os.symlink(target, link)
                try:
                    open(link, "w").write("escaped")
                except OSError as exc:
                    print("BLOCKED", target, exc)
                else:
                    print("ESCAPED: wrote", target) if not os.path.realpath(link).startswith("/scratch") else None
            os.symlink("{marker}", "dir-link")
            try:
                open("dir-link/via-dir-symlink", "w").write("escaped")
            except OSError as exc:
                print("BLOCKED", exc)
        """),
        any_of(printed, landed("via-symlink", "via-dir-symlink"), host_files),
    ),
    Escape(
        "write-dev-shm",
        _code("""
            for path in ["/dev/shm/{tag}", "/dev/{tag}"]:
                try:
                    open(path, "w").write("escaped")
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("WROTE (inside the sandbox's own /dev)", path)
        """),
        host_files,
    ),
    Escape(
        "open-raw-devices",
        _code("""
            import os
            for path in ["/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/proc/kcore"]:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    os.close(fd)
                    print("ESCAPED: opened", path)
        """),
        printed,
    ),
    Escape(
        "forged-file-names-in-status-pipe",
        _code("""
            import io, os, stat, tarfile
            pipes = [fd for fd in map(int, os.listdir("/proc/self/fd")) if fd > 2 and os.path.exists(f"/proc/self/fd/{fd}")
                     and stat.S_ISFIFO(os.fstat(fd).st_mode)]
            print("BLOCKED: tar written to", pipes)
            for fd in pipes:
                with os.fdopen(fd, "wb") as pipe, tarfile.open(fileobj=pipe, mode="w|") as tar:
                    for name in ["{marker}/tar-absolute", "../../../../../../..{marker}/tar-relative"]:
                        info = tarfile.TarInfo(name)
                        info.size = 7
                        tar.addfile(info, io.BytesIO(b"escaped"))
                    link = tarfile.TarInfo("link-to-marker")
                    link.type, link.linkname = tarfile.SYMTYPE, "{marker}"
                    tar.addfile(link)
            os._exit(0)
        """),
        landed("tar-absolute", "tar-relative"),
    ),
]

RESOURCES = [
    Escape(
        "fork-bomb",
        _code("""
            import os, time
            print("SANDBOX_UID", os.getuid(), flush=True)
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
        """),
        left_behind,
    ),
    Escape(
        "thread-bomb",
        _code("""
            import os, threading, time
            print("SANDBOX_UID", os.getuid(), flush=True)
            started = 0
            try:
                while True:
                    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
                    started += 1
            except RuntimeError as exc:
                print("BLOCKED after", started, "threads:", exc)
            if started > 1000:
                print("ESCAPED: started", started, "threads")
        """),
        any_of(printed, left_behind),
    ),
    Escape(
        "memory-bomb-8gib",
        _code("""
            block = bytearray(8 * 2**30)
            print("ESCAPED: allocated", len(block))
        """),
        printed,
        limit="memory",
    ),
    Escape(
        "memory-bomb-gradual",
        _code("""
            blocks = []
            for _ in range(128):
                blocks.append(b"x" * 64 * 2**20)
            print("ESCAPED: held", len(blocks) * 64, "MiB")
        """),
        printed,
        limit="memory",
        limits={"memory_bytes": 256 * 2**20},  # touched page by page: a smaller limit is reached sooner
    ),
    Escape(
        "memory-bomb-numpy",
        _code("""
            import numpy
            array = numpy.ones(2**30)
            print("ESCAPED: allocated", array.nbytes)
        """),
        printed,
        limit="memory",
    ),
    Escape(
        "memory-bomb-across-processes",
        _code("""
            import os, resource, time
            limit = resource.getrlimit(resource.RLIMIT_AS)[0]
            share = limit // 4  # each child stays far under its own limit, and really uses its memory
            kids = []
            for _ in range(2 * limit // share + 2):  # together twice the limit
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:
                    held = bytearray(share)  # zero-filled: every page touched
                    os.write(write, b"1")
                    time.sleep(2)
                    os._exit(0)
                kids.append(read)
            total = sum(os.read(r, 1) == b"1" for r in kids) * share
            time.sleep(0.5)  # all held at once, for longer than Herd takes to look
            if total >= 2 * limit:
                print(f"ESCAPED: {len(kids)} processes held {total / 2**30:.1f} GiB under a {limit / 2**20:.0f} MiB limit")
            else:
                print("BLOCKED: held only", total)
        """),
        printed,
        limit="memory limit.*all its processes together",
        # Touching pages costs CPU time: under a smaller limit the sum passes it before the CPU time does.
        limits={"memory_bytes": 384 * 2**20},
    ),
    Escape(
        "cpu-across-processes",
        _code("""
            import os, resource, signal, time
            limit = resource.getrlimit(resource.RLIMIT_CPU)[0]
            kids = []
            for _ in range(4):
                pid = os.fork()
                if pid == 0:
                    while sum(os.times()[:2]) < limit * 0.9:  # each stays under its own limit
                        pass
                    os._exit(0)
                kids.append(pid)
            def used(pid):
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            total = 0.0
            # The children together would use 3.6 x the limit. Herd samples the total every 0.1 s, so it
            # may overshoot by 0.1 s x cores: past 1.5 x the limit, the limit has failed.
            while total <= limit * 1.5:
                time.sleep(0.05)
                total = sum(os.times()[:2]) + sum(used(pid) for pid in kids)  # exited ones stay zombies, readable
            for pid in kids:
                os.kill(pid, signal.SIGKILL)
            print(f"ESCAPED: used {total:.1f} s of CPU under a {limit} s limit" if total > limit * 1.5 else f"BLOCKED: {total:.1f} s")
        """),
        printed,
        limits={"cpu_seconds": 1},  # so that a busy host still finds the CPU for it within the wall limit
        limit="CPU-time limit|wall",
    ),
    Escape(
        "infinite-loop",
        _code("""
            while True:
                pass
        """),
        printed,
        limit="CPU",
    ),
    Escape(
        "infinite-loop-ignoring-sigxcpu",
        _code("""
            import os, signal
            print("SANDBOX_UID", os.getuid(), flush=True)
            signal.signal(signal.SIGXCPU, signal.SIG_IGN)
            while True:
                pass
        """),
        left_behind,
        limit="killed|wall|CPU-time",  # the hard CPU limit's SIGKILL, Herd's total, or the wall limit on a busy host
    ),
    Escape(
        "sleep-forever",
        _code("""
            import os, time
            print("SANDBOX_UID", os.getuid(), flush=True)
            time.sleep(3600)
            print("ESCAPED: slept through the wall limit")
        """),
        any_of(printed, left_behind),
        limit="wall",
    ),
    Escape(
        "huge-stdout",
        _code("""
            import sys
            chunk = "x" * 2**20
            for _ in range(100):
                sys.stdout.write(chunk)
        """),
        flooded,
        limit="output",
    ),
    Escape(
        "huge-stderr",
        _code("""
            import sys
            chunk = "y" * 2**20
            for _ in range(100):
                sys.stderr.write(chunk)
        """),
        flooded,
        limit="output",
    ),
    Escape(
        "huge-output-lines",
        _code("""
            for i in range(10**7):
                print(i)
        """),
        flooded,
        limit="output",
    ),
]

SIGNALS = [
    Escape(
        "kill-parent",
        _code("""
            import os, signal
            print("TRYING", os.getppid(), flush=True)
            try:
                os.kill(os.getppid(), signal.SIGKILL)
            except OSError as exc:
                print("BLOCKED", exc)
            else:
                print("ESCAPED: signalled the parent")
        """),
        any_of(unless_blocked, host_pid_gone),
    ),
    Escape(
        "kill-pid-1",
        _code("""
            import os, signal
            print("TRYING", flush=True)
            try:
                os.kill(1, signal.SIGKILL)
            except OSError as exc:
                print("BLOCKED", exc)
            else:
                print("ESCAPED: signalled pid 1")
        """),
        any_of(unless_blocked, host_pid_gone),
    ),
    Escape(
        "kill-host-process",
        _code("""
            import os, signal
            print("TRYING", flush=True)
            try:
                os.kill({host_pid}, 0)
            except ProcessLookupError as exc:
                print("BLOCKED: the host's pid {host_pid} is not visible:", exc)
                try:
                    os.kill({host_pid}, signal.SIGKILL)
                except OSError as exc:
                    print("BLOCKED", exc)
            except OSError as exc:
                print("ESCAPED: the host's pid {host_pid} is visible:", exc)
            else:
                print("ESCAPED: may signal the host's pid {host_pid}")
        """),
        any_of(unless_blocked, host_pid_gone),
    ),
    Escape(
        "kill-everything",
        _code("""
            import os, signal
            print("TRYING", flush=True)
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError as exc:
                print("BLOCKED", exc)
            for sig in [signal.SIGTERM, signal.SIGKILL]:
                try:
                    os.killpg(os.getpgid(1), sig)
                except OSError as exc:
                    print("BLOCKED", exc)
        """),
        host_pid_gone,
    ),
]

LEFTOVERS = [
    Escape(
        "daemon-past-wall-limit",
        _code("""
            import os, subprocess, time
            print("SANDBOX_UID", os.getuid(), flush=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(60)
                    open("{marker}/daemon", "w").write("escaped")
                    os._exit(0)
                os._exit(0)
            subprocess.Popen("nohup sleep 600 >/dev/null 2>&1 &", shell=True)
            time.sleep(3600)
        """),
        any_of(left_behind, landed("daemon")),
        limit="wall",
    ),
    Escape(
        "daemon-then-exit",
        _code("""
            import os, subprocess, time
            print("SANDBOX_UID", os.getuid(), flush=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.closerange(0, 256)
                    time.sleep(60)
                    os._exit(0)
                os._exit(0)
            subprocess.Popen(["nohup", "sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(0.3)
        """),
        left_behind,
    ),
]

ESCALATION = [
    Escape(
        "setuid-root",
        _code("""
            import os
            for name, call in [("setuid", lambda: os.setuid(0)), ("seteuid", lambda: os.seteuid(0)),
                               ("setgid", lambda: os.setgid(0)), ("setgroups", lambda: os.setgroups([0]))]:
                try:
                    call()
                except OSError as exc:
                    print("BLOCKED", name, exc)
                else:
                    print("ESCAPED:", name, "worked")
        """),
        printed,
    ),
    Escape(
        "raise-limits",
        _code("""
            import resource
            for name in ["RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE"]:
                which = getattr(resource, name)
                soft, hard = resource.getrlimit(which)
                try:
                    resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                except (OSError, ValueError) as exc:
                    print("BLOCKED", name, exc)
                else:
                    print("ESCAPED: raised", name)
            for path, value in [("/proc/self/oom_score_adj", "-1000"), ("/proc/self/coredump_filter", "0x7f"),
                                ("/proc/1/oom_score_adj", "-1000")]:
                try:
                    open(path, "w").write(value)
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("WROTE", path) if "self/coredump" in path else print("ESCAPED: wrote", path)
        """),
        printed,
    ),
    Escape(
        "ptrace-and-proc-of-init",
        _code("""
            import ctypes, os
            pids = sorted(int(n) for n in os.listdir("/proc") if n.isdigit())
            print("ESCAPED: sees host processes", pids[:20]) if {host_pid} in pids or len(pids) > 10 else print("BLOCKED: sees", pids)
            for path in ["/proc/1/environ", "/proc/1/mem", "/proc/1/maps"]:
                try:
                    data = open(path, "rb").read(100)
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("ESCAPED: read", path, data)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.ptrace(16, 1, None, None) == 0:  # PTRACE_ATTACH
                print("ESCAPED: ptrace-attached to pid 1")
            else:
                print("BLOCKED ptrace", os.strerror(ctypes.get_errno()))
        """),
        printed,
    ),
    Escape(
        "mount",
        _code("""
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            os.mkdir("m")
            attempts = [(b"none", b"/scratch/m", b"tmpfs", 0), (None, b"/usr", None, 32 | 4096),  # MS_REMOUNT | MS_BIND
                        (b"/usr", b"/scratch/m", None, 4096), (b"proc", b"/scratch/m", b"proc", 0)]
            for source, target, kind, flags in attempts:
                if libc.mount(source, target, kind, flags, None) == 0:
                    print("ESCAPED: mounted", target)
                else:
                    print("BLOCKED mount", target, os.strerror(ctypes.get_errno()))
        """),
        printed,
    ),
    Escape(
        "user-namespace-remount",
        _code("""
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            try:
                os.unshare(os.CLONE_NEWUSER | os.CLONE_NEWNS)
                print("unshared: uid", os.getuid(), "in a namespace of its own")
            except OSError as exc:
                print("BLOCKED unshare", exc)
            for target in [b"/usr", b"/"]:
                if libc.mount(None, target, None, 32 | 4096, None) == 0:
                    print("remounted", target)
                else:
                    print("BLOCKED remount", target, os.strerror(ctypes.get_errno()))
            for path in ["/usr/{tag}", "{site_packages}/{tag}.pth", "{marker}/written"]:
                try:
                    open(path, "w").write("escaped")
                except OSError as exc:
                    print("BLOCKED", path, exc)
                else:
                    print("ESCAPED: wrote", path)
        """),
        any_of(printed, host_files, landed("written")),
    ),
    Escape(
        "setuid-binaries",
        _code("""
            import subprocess
            for command in [["su", "-c", "id -u", "root"], ["sudo", "-n", "id", "-u"], ["mount", "-t", "tmpfs", "none", "/scratch"]]:
                try:
                    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    print("BLOCKED", command[0], exc)
                    continue
                won = done.returncode == 0 and (command[0] == "mount" or done.stdout.strip() == "0")
                print("ESCAPED:" if won else "BLOCKED", command[0], done.returncode, done.stdout.strip(), done.stderr.strip()[:80])
        """),
        printed,
    ),
    Escape(
        "set-hostname-and-clock",
        _code("""
            import socket, time
            try:
                socket.sethostname("{tag}")
            except OSError as exc:
                print("BLOCKED sethostname", exc)
            else:
                print("changed the hostname (the sandbox has its own UTS namespace)")
            try:
                time.clock_settime(time.CLOCK_REALTIME, time.time())  # to the current time: harmless if it works
            except OSError as exc:
                print("BLOCKED clock_settime", exc)
            else:
                print("ESCAPED: may set the host's clock")
        """),
        any_of(printed, hostname_changed),
    ),
    Escape(
        "sysv-shared-memory-of-host",
        _code("""
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            if not {shm_key}:
                print("BLOCKED: the host made no segment to look for")
            elif libc.shmget({shm_key}, 0, 0) >= 0:
                print("ESCAPED: found the host's shared-memory segment")
            else:
                print("BLOCKED shmget", os.strerror(ctypes.get_errno()))
        """),
        printed,
    ),
]

ESCAPES: list[Escape] = [*NETWORK, *READS, *WRITES, *RESOURCES, *SIGNALS, *LEFTOVERS, *ESCALATION]


# --- the host side -------------------------------------------------------------------------


def _proc(pid: int) -> tuple[int, str, int, str] | None:
    """(uid, command name, parent pid, state) of a process, or None once it is gone."""
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    return uid, name, int(ppid), state


def sandbox_processes(uid: int | None = None) -> list[int]:
    """Live (not zombie) processes running as ``uid``, or as any uid the sandbox picks (>= 10^9) when None."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        info = _proc(int(entry.name))
        if info is None or info[3] in ("Z", "X"):
            continue
        if (info[0] == uid) if uid is not None else (info[0] >= SANDBOX_UID_MIN):
            found.append(int(entry.name))
    return found


def _runner(pid: int) -> int | None:
    """The nearest ancestor that is neither a sandbox process nor bwrap: the program whose call it belongs to."""
    for _ in range(64):
        info = _proc(pid)
        if info is None:
            return None
        uid, name, ppid, _ = info
        if uid < SANDBOX_UID_MIN and name != "bwrap":
            return pid
        if ppid <= 1:
            return 1
        pid = ppid
    return None


def stray_sandbox_processes(owner: int | None = None) -> list[int]:
    """Sandbox-uid processes that no running call accounts for, once ``owner``'s calls have all returned.

    A process whose runner (see ``_runner``) is another live program belongs to that program's
    call still running (other tests, servers) and is not counted; one run by ``owner`` (default:
    this process), orphaned to pid 1, or whose ancestry vanished mid-look, is.
    """
    owner = os.getpid() if owner is None else owner
    return [pid for pid in sandbox_processes() if _runner(pid) in (None, 1, owner)]


def wait_for_no_strays(owner: int | None = None, timeout: float = 2.0) -> list[int]:
    """The stray processes still there after ``timeout`` (killed ones take a moment to go)."""
    deadline = time.monotonic() + timeout
    while (stray := stray_sandbox_processes(owner)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return stray


def _lan_ip() -> str:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # a UDP connect sends nothing; it picks the outgoing address
        address = str(probe.getsockname()[0])
        return "" if address.startswith("127.") else address
    return ""


class HostProbe:
    """What the escapes aim at on the host, for one attempt: a marker dir (mode 0777, outside any
    sandbox) holding a secret, TCP/UDP/abstract-unix listeners that drop a file into it when
    contacted, the secret in ``~/.ssh/herd_escape_probe`` (when that file can be made and is
    not there already) and in this process's environment, and a SysV shared-memory segment.
    ``host_pid`` is the process the signal attempts aim at (default: this one).
    """

    def __init__(self, host_pid: int | None = None) -> None:
        self.host_pid = os.getpid() if host_pid is None else host_pid
        self.marker = Path(tempfile.mkdtemp(prefix="herd-escape-"))
        self.secret = "herd-secret-" + secrets.token_hex(16)
        self.values: dict[str, object] = {}
        self._sockets: list[socket.socket] = []
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._made: list[Path] = []
        self._shm_id = -1
        self._env_before: str | None = None
        self._env_set = False

    def __enter__(self) -> "HostProbe":
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        os.chmod(self.marker, 0o777)
        (self.marker / SECRET_FILE).write_text(self.secret + "\n")
        os.chmod(self.marker / SECRET_FILE, 0o644)
        values = default_values(self.marker)
        values["host_pid"] = self.host_pid
        values["port"] = self._listen(socket.SOCK_STREAM, "127.0.0.1", "tcp")
        values["udp_port"] = self._listen(socket.SOCK_DGRAM, "127.0.0.1", "udp")
        if lan := _lan_ip():
            with contextlib.suppress(OSError):
                values["lan_port"] = self._listen(socket.SOCK_STREAM, lan, "lan")
                values["lan_ip"] = lan
        unix = socket.socket(socket.AF_UNIX)
        unix.bind("\0" + str(values["abstract"]))
        unix.listen()
        self._watch(unix, "unix")
        values["ssh_probe"] = str(self._ssh_probe())
        values["shm_key"] = self._shm()
        self._env_before, self._env_set = os.environ.get(ENV_PROBE), True
        os.environ[ENV_PROBE] = self.secret
        self.values = values
        (self.marker / PROBE_FILE).write_text(json.dumps(values))
        self._thread = threading.Thread(target=self._serve, name="herd-escape-listeners", daemon=True)
        self._thread.start()

    def _listen(self, kind: socket.SocketKind, host: str, name: str) -> int:
        sock = socket.socket(socket.AF_INET, kind)
        try:
            sock.bind((host, 0))
            if kind == socket.SOCK_STREAM:
                sock.listen()
        except OSError:
            sock.close()
            raise
        self._watch(sock, name)
        return int(sock.getsockname()[1])

    def _watch(self, sock: socket.socket, name: str) -> None:
        sock.setblocking(False)
        self._sockets.append(sock)
        self._selector.register(sock, selectors.EVENT_READ, name)

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    if sock.type == socket.SOCK_DGRAM:
                        sock.recvfrom(4096)
                    else:
                        sock.accept()[0].close()
                except OSError:
                    continue
                (self.marker / key.data).write_text("contacted\n")

    def _ssh_probe(self) -> Path:
        folder = Path.home() / ".ssh"
        path = folder / "herd_escape_probe"
        try:
            if not folder.exists():
                folder.mkdir(mode=0o755)
                self._made.append(folder)
            with open(path, "x") as handle:  # one there already belongs to another probe
                handle.write(self.secret + "\n")
            self._made.insert(0, path)
            os.chmod(path, 0o644)
            return path
        except OSError:
            fallback = self.marker / ".ssh" / "herd_escape_probe"
            fallback.parent.mkdir(exist_ok=True)
            fallback.write_text(self.secret + "\n")
            return fallback

    def _shm(self) -> int:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            key = secrets.randbelow(2**30) + 1
            self._shm_id = libc.shmget(key, 4096, 0o1000 | 0o2000 | 0o666)  # IPC_CREAT | IPC_EXCL
        except (OSError, AttributeError):
            return 0
        return key if self._shm_id >= 0 else 0

    def render(self, escape: Escape) -> str:
        values = {k: v for k, v in self.values.items() if k not in ("port", "marker")}
        return escape.render(int(str(self.values["port"])), self.marker, **values)

    def escaped(self, escape: Escape, stdout: str, stderr: str) -> bool:
        return escape.escaped(stdout, stderr, self.marker)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for sock in self._sockets:
            sock.close()
        self._selector.close()
        if self._shm_id >= 0:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None).shmctl(self._shm_id, 0, None)  # IPC_RMID
        if self._env_set:
            if self._env_before is None:
                os.environ.pop(ENV_PROBE, None)
            else:
                os.environ[ENV_PROBE] = self._env_before
            self._env_set = False
        for path in self._made:
            with contextlib.suppress(OSError):
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink()
        self._made.clear()
        if self.values:  # what an attempt that got out left on the host
            for target in WRITE_TARGETS:
                with contextlib.suppress(OSError):
                    Path(fill(target, self.values)).unlink()
        shutil.rmtree(self.marker, ignore_errors=True)


def signal_name(code: int | None) -> str:
    """``exit_code`` in words, for messages: -9 is SIGKILL."""
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-code).name
    return str(code)
