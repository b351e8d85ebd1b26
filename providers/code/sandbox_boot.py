"""Runs inside the sandbox, as its first and only Python program (stdlib only; never imported by Herd).

argv: the settings as JSON. It sets the resource limits, drops to the sandbox's own uid when
bubblewrap started it as root, runs the code file like a notebook cell (a last bare
expression is printed), saves open matplotlib figures, then streams the files under the
scratch directory as a tar to the status pipe, followed by nothing else. The host trusts none of
it: the code could have replaced this module's functions, and the host checks what it reads.
"""

import ast
import json
import os
import resource
import sys
import tarfile
import traceback

FIGURES = ".herd-figures"


def limit(settings: dict) -> None:
    cpu = settings["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (settings["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (settings["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Counted per uid: the sandbox's uid is its own, so this caps the sandbox's processes.
    resource.setrlimit(resource.RLIMIT_NPROC, (settings["processes"],) * 2)
    uid = settings.get("uid")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def run(source: str) -> int:
    namespace = {"__name__": "__main__", "__file__": "<code>"}
    try:
        tree = ast.parse(source, "<code>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<code>", "exec"), namespace)  # noqa: S102 - running the given code is the point
        if isinstance(last, ast.Expr):
            value = eval(compile(ast.Expression(last.value), "<code>", "eval"), namespace)  # noqa: S307 - as above
            if value is not None:
                print(repr(value))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MemoryError:
        print("MemoryError: the sandbox's memory limit was reached", file=sys.stderr)
        return 1
    except BaseException as exc:  # noqa: BLE001 - the code's own errors are its output
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "<code>":
            tb = tb.tb_next  # the frames of this module are not the code's
        traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
        return 1
    return 0


def save_figures(scratch: str) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    numbers = pyplot.get_fignums()
    if numbers:
        os.makedirs(os.path.join(scratch, FIGURES), exist_ok=True)
    for number in numbers:
        pyplot.figure(number).savefig(os.path.join(scratch, FIGURES, f"figure-{number}.png"), format="png")


def send_files(fd: int, scratch: str) -> None:
    with os.fdopen(fd, "wb") as pipe, tarfile.open(fileobj=pipe, mode="w|") as tar:
        for root, dirs, files in os.walk(scratch):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    tar.add(path, arcname=os.path.relpath(path, scratch), recursive=False)


def main() -> None:
    settings = json.loads(sys.argv[1])
    # Only stdin, stdout, stderr and the status pipe stay open for the code.
    os.closerange(3, settings["status_fd"])
    os.closerange(settings["status_fd"] + 1, 65536)
    limit(settings)
    for path in settings["site_packages"]:
        import site

        site.addsitedir(path)
    sys.argv = ["<code>"]
    os.chdir(settings["scratch"])
    with open(settings["code"], encoding="utf-8") as handle:
        source = handle.read()
    code = run(source)
    sys.stdout.flush()
    try:
        save_figures(settings["scratch"])
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be saved is reported, not fatal
        print(f"(a figure could not be saved: {exc})", file=sys.stderr)
    try:
        send_files(settings["status_fd"], settings["scratch"])
    except OSError as exc:
        print(f"(the files written could not all be returned: {exc})", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
