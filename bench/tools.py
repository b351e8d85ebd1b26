"""Code-tool benchmark: what the bubblewrap sandbox adds to one Python call.

For each snippet, ``--runs`` calls (default 30) through ``Sandbox(Limits()).run(code)`` and as
many through plain ``python -c CODE`` (this interpreter, a subprocess with pipes, no sandbox):
the baseline, measured in the same run. The two are interleaved, alternating which goes
first, so load on the machine hits both alike. Reported per snippet: p50/p95 of each, and of
the overhead (sandbox minus plain, per interleaved pair), and the p50 ratio. ``--cli`` adds
``herd tools run python --code CODE --json`` (a new process per call, the CLI's start-up included).

    .venv/bin/python bench/tools.py [--runs 30] [--cli] [--json]

Target: sandbox overhead p50 < 100 ms on every snippet.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from herd.providers.code.limits import Limits
from herd.providers.code.sandbox import Sandbox

SNIPPETS = {
    "print(1)": "print(1)",
    "10^5 additions": "total = 0\nfor i in range(100_000):\n    total += i\nprint(total)",
    "json.dumps 1000": "import json\nprint(len(json.dumps(list(range(1000)))))",
    "import numpy": "import numpy\nprint(numpy.__version__)",
}
HERD = Path(sys.executable).with_name("herd")
TARGET_MS = 100.0


async def _timed(what: str, *argv: str) -> float:
    """Milliseconds to run a command to its end; a failed run stops the benchmark."""
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed: {(out + err).decode(errors='replace')}")
    return (time.perf_counter() - start) * 1000


async def plain(code: str) -> float:
    return await _timed("plain python", sys.executable, "-c", code)


async def sandboxed(sandbox: Sandbox, code: str) -> float:
    start = time.perf_counter()
    result = await sandbox.run(code)
    if not result.ok:
        raise RuntimeError(f"the sandbox failed: exit {result.exit_code}, {result.limit}, {result.stderr}")
    return (time.perf_counter() - start) * 1000


async def cli(code: str) -> float:
    return await _timed("herd tools run", str(HERD), "tools", "run", "python", "--code", code, "--json")


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


async def measure(runs: int, with_cli: bool) -> list[dict[str, Any]]:
    sandbox = Sandbox(Limits())
    sandbox.check()
    rows = []
    for name, code in SNIPPETS.items():
        await sandboxed(sandbox, code)  # warm-up: the page cache, numpy's files
        await plain(code)
        times: dict[str, list[float]] = {"plain": [], "sandbox": [], "cli": []}
        for i in range(runs):
            order = ["sandbox", "plain"] if i % 2 == 0 else ["plain", "sandbox"]
            for kind in order:
                times[kind].append(await (sandboxed(sandbox, code) if kind == "sandbox" else plain(code)))
            if with_cli:
                times["cli"].append(await cli(code))
        overhead = [s - p for s, p in zip(times["sandbox"], times["plain"], strict=True)]
        row: dict[str, Any] = {
            "snippet": name,
            "runs": runs,
            "plain_p50_ms": p50(times["plain"]),
            "plain_p95_ms": p95(times["plain"]),
            "sandbox_p50_ms": p50(times["sandbox"]),
            "sandbox_p95_ms": p95(times["sandbox"]),
            "overhead_p50_ms": p50(overhead),
            "overhead_p95_ms": p95(overhead),
            "ratio_p50": p50(times["sandbox"]) / p50(times["plain"]),
        }
        if with_cli:
            row |= {"cli_p50_ms": p50(times["cli"]), "cli_p95_ms": p95(times["cli"])}
        rows.append(row)
    return rows


def report(rows: list[dict[str, Any]], with_cli: bool) -> None:
    header = (
        f"{'snippet':18} {'plain p50':>9} {'p95':>7} {'sandbox p50':>11} {'p95':>7} "
        f"{'overhead p50':>12} {'p95':>7} {'ratio':>6}" + (f" {'cli p50':>8} {'p95':>7}" if with_cli else "")
    )
    print(f"{rows[0]['runs']} runs per snippet, times in ms; overhead = sandbox - plain per interleaved pair")
    print(header)
    for r in rows:
        line = (
            f"{r['snippet']:18} {r['plain_p50_ms']:9.1f} {r['plain_p95_ms']:7.1f} {r['sandbox_p50_ms']:11.1f} "
            f"{r['sandbox_p95_ms']:7.1f} {r['overhead_p50_ms']:12.1f} {r['overhead_p95_ms']:7.1f} {r['ratio_p50']:5.2f}x"
        )
        if with_cli:
            line += f" {r['cli_p50_ms']:8.1f} {r['cli_p95_ms']:7.1f}"
        print(line)
    worst = max(rows, key=lambda r: r["overhead_p50_ms"])
    met = worst["overhead_p50_ms"] < TARGET_MS
    print(
        f"overhead p50 < {TARGET_MS:g} ms: {'yes' if met else 'no'} "
        f"(worst: {worst['snippet']}, {worst['overhead_p50_ms']:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="calls per snippet and per way (default 30)")
    parser.add_argument("--cli", action="store_true", help="also time `herd tools run python --code CODE`")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    rows = asyncio.run(measure(args.runs, args.cli))
    report(rows, args.cli)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
