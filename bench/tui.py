"""Chat TUI benchmark: `herd chat`'s first paint and keystroke latency, in a real pseudo-terminal.

Each launch is a fresh ``python -c`` running ``ChatApp`` on a ``FakeChatClient`` (no server)
that resumes a conversation of ``--messages`` messages, with its stdin/stdout/stderr on a
120x40 pty this process reads. What is timed is what a terminal would receive:
- first paint: spawn until the first frame's prompt placeholder arrives (interpreter start
  and imports included). The child reports on a side pipe, on the same monotonic clock, when
  its interpreter was up, its imports done and ``ChatApp(...)`` built, so the table splits
  the total. "Conversation shown": until a message of the history arrives. The fake answers
  without yielding to the event loop; a second chat row gives each client call
  ``--latency`` ms (a local server's round trip), so the first frame can come before the
  history does;
- keystroke latency: one letter written to the master until the prompt line echoing it
  comes back (the typed text has unique 4-grams of letters no escape sequence holds, so the
  echo is unambiguous among cursor-blink frames), ``--gap`` idle between keys;
- scrolling: after a click in the conversation, page-up/page-down until the first frame;
- "show earlier": clicking the button above the conversation until the older page is on
  screen, then the keystrokes again with twice as many messages mounted.

Baselines in the same run: the same ChatApp with an empty conversation (keystrokes: the
1,000-message/empty ratio) and a bare ``textual.app.App`` with one ``Input`` (first paint and
keystrokes). The kinds are launched interleaved, after a dropped warm-up launch.

    .venv/bin/python bench/tui.py [--messages 1000] [--keys 100] [--runs 5] [--json]

Targets (issue): first paint < 1 s; keystroke p95 < 50 ms with 1,000 messages loaded.
"""

import argparse
import fcntl
import json
import os
import random
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from herd.apps.chat.widgets.log import WINDOW

COLS, ROWS = 120, 40
PLACEHOLDER = "Message Herd (Enter sends · F1 help)"
PAINTED = b"Enter sends"  # in the placeholder (its first letter carries the cursor's style, so not "Message")
SHOWN = b"Answer "  # any assistant message of the history
PAGE_UP, PAGE_DOWN, HOME, END = b"\x1b[5~", b"\x1b[6~", b"\x1b[1~", b"\x1b[4~"
ESCAPE = b"\x1b"
PAINT_TARGET_S = 1.0
KEY_TARGET_MS = 50.0
# No escape sequence Textual writes holds four of these in a row (SGR ends in m, modes in h/l, queries in p).
LETTERS = "abcdefgijknorstuvwxyz"

# The launched program. argv: kind ("chat" or "bare"), messages, latency in ms, the report pipe's fd.
CHILD = r"""
import json, os, sys, time
ready = time.perf_counter()
kind, messages, latency, fd = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
if kind == "bare":
    from textual.app import App
    from textual.widgets import Input

    class Bare(App):
        def compose(self):
            yield Input(placeholder=PLACEHOLDER)

    imported = time.perf_counter()
    app = Bare()
else:
    import asyncio
    from herd.apps.chat.app import ChatApp
    from herd.apps.chat.events import HistoryItem, Settings
    from herd.apps.chat.fake import FakeChatClient

    imported = time.perf_counter()

    class Client(FakeChatClient):
        async def _wait(self):
            if latency:
                await asyncio.sleep(latency / 1000)

        async def ping(self):
            await self._wait()
            return await super().ping()

        async def targets(self):
            await self._wait()
            return await super().targets()

        async def conversations(self):
            await self._wait()
            return await super().conversations()

        async def history(self, conversation_id):
            await self._wait()
            return await super().history(conversation_id)

    history = []
    for i in range(1, messages // 2 + 1):
        history.append(HistoryItem("user", f"Question {i}: how does part {i} of the system work?"))
        text = (
            f"Answer {i}.\n\nPart {i} is **the important one**, with *some detail*:\n\n"
            f"- it reads the input\n- it checks `limit_{i}`\n- it writes the result\n"
        )
        if i % 10 == 0:
            text += f"\n```python\ndef part_{i}(x):\n    return x * {i}\n```\n"
        history.append(HistoryItem("assistant", text))
    client = Client()
    client.add_conversation("Older conversation")
    conversation = client.add_conversation("Benchmark conversation", history)
    app = ChatApp(client, default=Settings(), conversation=conversation)
built = time.perf_counter()
os.write(fd, json.dumps({"ready": ready, "imported": imported, "built": built}).encode())
os.close(fd)
app.run()
""".replace("PLACEHOLDER", repr(PLACEHOLDER))


@dataclass(frozen=True)
class Kind:
    label: str
    app: str  # "chat" or "bare"
    messages: int = 0
    latency_ms: float = 0.0


@dataclass
class Launch:
    """One launch's figures: seconds from the spawn; latencies in ms."""

    paint: float = float("nan")
    shown: float = float("nan")
    child: dict[str, float] = field(default_factory=dict)
    keys_ms: list[float] = field(default_factory=list)
    pages_ms: list[float] = field(default_factory=list)
    pages_missed: int = 0
    earlier_ms: float = float("nan")
    answers_after_earlier_ms: float = float("nan")
    keys_after_earlier_ms: list[float] = field(default_factory=list)


class Terminal:
    """A child on a pty: what it writes is kept in ``out``; ``wait_for`` reads until a pattern arrives."""

    def __init__(self, kind: Kind) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        report_r, report_w = os.pipe()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
        env.update(TERM="xterm-256color", COLORTERM="truecolor", COLUMNS=str(COLS), LINES=str(ROWS))
        argv = [sys.executable, "-c", CHILD, kind.app, str(kind.messages), str(kind.latency_ms), str(report_w)]
        self.out = bytearray()
        self.last = 0.0  # when the latest read arrived
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, pass_fds=(report_w,), env=env, start_new_session=True
        )
        os.close(slave)
        os.close(report_w)
        self.report_fd = report_r

    def read(self, timeout: float) -> float | None:
        """Read what is there within ``timeout``; the time it arrived, or None."""
        ready, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not ready:
            return None
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child has exited and closed its side
            data = b""
        if not data:
            raise EOFError(f"the app exited; its last output:\n{self.tail()}")
        self.last = time.perf_counter()
        self.out += data
        return self.last

    def wait_for(self, pattern: bytes, since: int, timeout: float = 15.0) -> float:
        """When ``pattern`` had arrived in what was written after offset ``since``."""
        deadline = time.perf_counter() + timeout
        start = since
        while pattern not in self.out[start:]:
            start = max(since, len(self.out) - len(pattern) + 1)
            if self.read(deadline - time.perf_counter()) is None:
                raise TimeoutError(
                    f"{pattern!r} did not arrive within {timeout:g} s; the app wrote last:\n{self.tail()}"
                )
        return self.last

    def quiet(self, idle: float, limit: float = 3.0) -> None:
        """Read until nothing has arrived for ``idle`` seconds (or ``limit`` passed)."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline and self.read(idle) is not None:
            pass

    def send(self, data: bytes) -> float:
        sent = time.perf_counter()
        os.write(self.master, data)
        return sent

    def click(self, x: int, y: int) -> None:
        """A left click at 1-based cell ``x``, ``y`` (SGR mouse reports, which Textual turns on)."""
        self.send(f"\x1b[<0;{x};{y}M\x1b[<0;{x};{y}m".encode())

    def tail(self) -> str:
        return bytes(self.out[-1500:]).decode(errors="replace")

    def child_marks(self) -> dict[str, float]:
        raw = b""
        while chunk := os.read(self.report_fd, 4096):
            raw += chunk
        os.close(self.report_fd)
        return {k: v - self.started for k, v in json.loads(raw).items()}

    def close(self) -> None:
        try:
            self.send(b"\x11")  # ctrl+q: Textual's quit
            deadline = time.perf_counter() + 5
            while self.proc.poll() is None and time.perf_counter() < deadline:
                self.read(0.05)  # keep reading, or a child writing its last frame would block
        except (EOFError, OSError):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        os.close(self.master)


def typed_text(n: int) -> str:
    """``n`` letters in which no 4-gram repeats, so the last four typed identify one keystroke's echo."""
    rng = random.Random(7)
    text, seen = "", set()
    while len(text) < n:
        letter = rng.choice(LETTERS)
        gram = (text + letter)[-4:]
        if len(gram) < 4 or gram not in seen:
            seen.add(gram)
            text += letter
    return text


def keystrokes(term: Terminal, text: str, gap: float) -> list[float]:
    """Type ``text`` into an empty prompt: ms from each key to its echo.

    The first three letters are untimed: only from the fourth on is the 4-gram that identifies an echo whole.
    """
    latencies = []
    for i, letter in enumerate(text):
        since = len(term.out)
        sent = term.send(letter.encode())
        echoed = term.wait_for(text[max(0, i - 3) : i + 1].encode(), since, timeout=5)
        if i >= 3:
            latencies.append((echoed - sent) * 1e3)
        term.quiet(gap)
    return latencies


def pages(term: Terminal, presses: int) -> tuple[list[float], int]:
    """ms from page-up/page-down to the first frame, after a click moves the focus to the conversation."""
    term.click(COLS // 2, ROWS // 3)
    term.quiet(0.3)
    latencies, missed = [], 0
    for i in range(presses):
        key = PAGE_UP if (i // 4) % 2 == 0 else PAGE_DOWN  # four up, four down: never past either end
        sent = term.send(key)
        arrived = term.read(1.0)
        if arrived is None:
            missed += 1
            continue
        latencies.append((arrived - sent) * 1e3)
        term.quiet(0.15)  # the rest of the scroll animation
    return latencies, missed


def show_earlier(term: Terminal, messages: int) -> tuple[float, float]:
    """Click "show earlier" (at the top, once scrolled home), press end, then go back to the prompt.

    ms from the click until the older page is on screen, and until the frame that answers the end
    key (Textual draws no frame while a Markdown widget mounts its blocks, and handles no key
    either: this is when the app answers again).
    """
    hidden = max(0, messages - WINDOW) - WINDOW
    label = f"({hidden} not shown)" if hidden > 0 else "Question 1:"
    term.click(COLS // 2, ROWS // 3)  # the focus on the conversation, so that home and end scroll it
    term.quiet(0.3)
    term.send(HOME)
    term.quiet(0.5)
    since = len(term.out)
    term.click(COLS // 2, 1)
    clicked = time.perf_counter()
    shown = term.wait_for(label.encode(), since, timeout=30)
    term.quiet(0.01)  # the rest of that frame
    since = len(term.out)
    term.send(END)
    while len(term.out) == since:
        if term.read(30) is None:
            raise TimeoutError(f"the app did not answer the end key within 30 s; it wrote last:\n{term.tail()}")
    answered = term.last
    term.quiet(0.5)
    term.send(ESCAPE)  # the chat screen's "stop" focuses the prompt, which selects its text: the next key replaces it
    term.quiet(0.5)
    return (shown - clicked) * 1e3, (answered - clicked) * 1e3


def launch(kind: Kind, keys: int = 0, presses: int = 0, gap: float = 0.05) -> Launch:
    """One launch of ``kind``: first paint always; keystrokes, pages and "show earlier" when asked."""
    term = Terminal(kind)
    result = Launch()
    try:
        result.paint = term.wait_for(PAINTED, 0) - term.started
        result.child = term.child_marks()
        if kind.messages:
            result.shown = term.wait_for(SHOWN, 0) - term.started
        term.quiet(0.3)  # the connection, the history, the focus: settled
        text = typed_text(2 * keys + 6)
        if keys:
            result.keys_ms = keystrokes(term, text[: keys + 3], gap)
        if presses and kind.messages:
            result.pages_ms, result.pages_missed = pages(term, presses)
        if keys and kind.messages > WINDOW:
            result.earlier_ms, result.answers_after_earlier_ms = show_earlier(term, kind.messages)
            result.keys_after_earlier_ms = keystrokes(term, text[keys + 3 :], gap)
    finally:
        term.close()
    return result


def measure(args: argparse.Namespace) -> dict[Kind, list[Launch]]:
    full = Kind(f"chat, {args.messages} msgs", "chat", args.messages)
    kinds = [
        full,
        Kind(f"{args.latency:g} ms per call", "chat", args.messages, args.latency),
        Kind("chat, empty", "chat"),
        Kind("bare App+Input", "bare"),
    ]
    launch(full)  # warm-up (the page cache, .pyc files), dropped; the chat kinds share their code
    launch(kinds[-1])
    launches: dict[Kind, list[Launch]] = {kind: [] for kind in kinds}
    for run in range(args.runs):
        for kind in kinds if run % 2 == 0 else reversed(kinds):
            timed = run == 0 and not kind.latency_ms
            keys, presses = (args.keys, args.pages) if timed else (0, 0)
            launches[kind].append(launch(kind, keys, presses, args.gap))
    return launches


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[round(0.95 * (len(ordered) - 1))]


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"n": len(values), "p50": statistics.median(values), "p95": p95(values), "max": max(values)}


def summary(launches: dict[Kind, list[Launch]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, runs in launches.items():
        marks = {k: statistics.median(r.child[k] for r in runs) for k in runs[0].child}
        out[kind.label] = {
            "kind": asdict(kind),
            "paint_s": statistics.median(r.paint for r in runs),
            "paint_runs_s": [r.paint for r in runs],
            "shown_s": statistics.median(r.shown for r in runs) if kind.messages else None,
            "python_up_s": marks["ready"],
            "imports_s": marks["imported"] - marks["ready"],
            "built_to_paint_s": statistics.median(r.paint - r.child["built"] for r in runs),
            "keys_ms": spread([k for r in runs for k in r.keys_ms]),
            "pages_ms": spread([p for r in runs for p in r.pages_ms]),
            "pages_missed": sum(r.pages_missed for r in runs),
            "show_earlier_ms": next((r.earlier_ms for r in runs if r.earlier_ms == r.earlier_ms), None),
            "answers_after_earlier_ms": next(
                (r.answers_after_earlier_ms for r in runs if r.earlier_ms == r.earlier_ms), None
            ),
            "keys_after_earlier_ms": spread([k for r in runs for k in r.keys_after_earlier_ms]),
        }
    return out


def _f(value: float | None, width: int = 9, scale: float = 1.0) -> str:
    return f"{value * scale:{width}.1f}" if value is not None and value == value else f"{'-':>{width}}"


def report_paint(s: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"method: pty ({COLS}x{ROWS}), a fresh `python -c` per launch, timed on the bytes the pty master receives")
    print(f"first paint: medians of {args.runs} interleaved launches per kind, ms from the spawn")
    print(f"{'':22}{'paint':>9}{'python up':>10}{'imports':>9}{'built→paint':>12}{'conv shown':>11}")
    for label, r in s.items():
        name = ("  " if r["kind"]["latency_ms"] else "") + label
        print(
            f"{name:22}{_f(r['paint_s'], 9, 1e3)}{_f(r['python_up_s'], 10, 1e3)}{_f(r['imports_s'], 9, 1e3)}"
            f"{_f(r['built_to_paint_s'], 12, 1e3)}{_f(r['shown_s'], 11, 1e3)}"
        )
    full, bare = s[f"chat, {args.messages} msgs"], s["bare App+Input"]
    print(f"first paint, chat with {args.messages} msgs / bare App: {full['paint_s'] / bare['paint_s']:.2f}x")


def report_keys(s: dict[str, Any], args: argparse.Namespace) -> None:
    full, empty, bare = s[f"chat, {args.messages} msgs"], s["chat, empty"], s["bare App+Input"]
    print(
        f"keystroke to echo, ms, {args.gap * 1e3:g} ms idle between keys; "
        f"{min(WINDOW, args.messages)} of the messages are mounted at first:"
    )
    print(f"{'':36}{'keys':>5}{'p50':>8}{'p95':>8}{'max':>8}")
    lines = [
        (f"chat, {args.messages} msgs", full["keys_ms"]),
        (f"  after 'show earlier' ({min(2 * WINDOW, args.messages)} mounted)", full["keys_after_earlier_ms"]),
        ("chat, empty", empty["keys_ms"]),
        ("bare App+Input", bare["keys_ms"]),
    ]
    for label, k in lines:
        if k:
            print(f"{label:36}{k['n']:5d}{_f(k['p50'], 8)}{_f(k['p95'], 8)}{_f(k['max'], 8)}")
    fk, ek, bk = full["keys_ms"], empty["keys_ms"], bare["keys_ms"]
    print(
        f"keystroke, {args.messages} msgs / empty: p50 {fk['p50'] / ek['p50']:.2f}x, p95 {fk['p95'] / ek['p95']:.2f}x;"
        f" empty / bare App: p50 {ek['p50'] / bk['p50']:.2f}x"
    )
    if pg := full["pages_ms"]:
        missed = f", {full['pages_missed']} with no frame within 1 s" if full["pages_missed"] else ""
        print(
            f"page up/down to first frame, ms ({pg['n']} presses{missed}): "
            f"p50 {pg['p50']:.1f}, p95 {pg['p95']:.1f}, max {pg['max']:.1f}"
        )
    if full["show_earlier_ms"] is not None:
        print(
            f"'show earlier': click to the older page on screen {full['show_earlier_ms']:.0f} ms; "
            f"to answering a key again {full['answers_after_earlier_ms']:.0f} ms"
        )


def report_targets(s: dict[str, Any], args: argparse.Namespace) -> None:
    full, slow = s[f"chat, {args.messages} msgs"], s[f"{args.latency:g} ms per call"]
    print(
        f"with {args.latency:g} ms per client call: first paint {slow['paint_s']:.2f} s, "
        f"conversation shown {slow['shown_s']:.2f} s"
    )
    paint, key_p95 = full["paint_s"], full["keys_ms"]["p95"]
    print(f"first paint < {PAINT_TARGET_S:g} s: {'PASS' if paint < PAINT_TARGET_S else 'FAIL'} ({paint:.2f} s)")
    print(
        f"keystroke p95 < {KEY_TARGET_MS:g} ms with {args.messages} messages: "
        f"{'PASS' if key_p95 < KEY_TARGET_MS else 'FAIL'} ({key_p95:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--messages", type=int, default=1000, help="messages in the resumed conversation (default 1000)"
    )
    parser.add_argument("--keys", type=int, default=100, help="timed keystrokes per kind and phase (default 100)")
    parser.add_argument("--pages", type=int, default=24, help="timed page-up/page-down presses (default 24)")
    parser.add_argument("--runs", type=int, default=5, help="launches per kind for first paint (default 5)")
    parser.add_argument("--gap", type=float, default=0.05, help="idle seconds between keystrokes (default 0.05)")
    parser.add_argument(
        "--latency", type=float, default=3.0, help="ms per client call in the second chat row (default 3)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if args.messages < 2 or args.keys < 1 or args.runs < 1:
        parser.error("--messages needs 2 or more (a question and its answer), --keys and --runs 1 or more")
    s = summary(measure(args))
    report_paint(s, args)
    report_keys(s, args)
    report_targets(s, args)
    if args.json:
        print(json.dumps(s, indent=2))


if __name__ == "__main__":
    main()
