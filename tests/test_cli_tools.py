"""`herd tools run` in this process and `herd tools add-mcp` on a run config (the server side is in test_tools_server)."""

import json
import sys
from pathlib import Path

import pytest
import yaml

from herd.distribution import runconfig
from tests.conftest import run_main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HERD_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_run_python_prints_its_output_and_exits_with_its_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = "open('out.txt', 'w').write('kept')\nprint('hello')\nimport sys\nsys.exit(3)"
    status, out, err = run_main(monkeypatch, capsys, "tools", "run", "python", "--code", code, "--out", str(tmp_path))
    assert status == 3 and out == "hello\n"
    assert "[exit 3" in err and "bwrap" in err and "wrote out.txt" in err
    assert (tmp_path / "out.txt").read_text() == "kept"
    status, out, _ = run_main(monkeypatch, capsys, "tools", "run", "python", "--code", "6 * 7", "--json")
    result = json.loads(out)
    assert status == 0 and result["stdout"] == "42\n" and result["exit_code"] == 0


def test_run_a_builtin_tool_and_its_bad_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_main(monkeypatch, capsys, "tools", "run", "calculator", "--arg", "expression=1/3 + 1/6")
    assert status == 0 and out.startswith("1/2")
    status, _, err = run_main(monkeypatch, capsys, "tools", "run", "convert_units", "--json-args", '{"value": 1}')
    assert status == 1 and "from_unit" in err
    status, _, err = run_main(monkeypatch, capsys, "tools", "run", "teleport")
    assert status == 1 and "herd: error: there is no local tool 'teleport'" in err and "calculator" in err
    status, _, err = run_main(monkeypatch, capsys, "tools", "run", "calculator", "--arg", "novalue")
    assert status == 1 and "NAME=VALUE" in err


def test_add_mcp_writes_a_checked_server_into_the_run_config(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = f"{sys.executable} tests/notes_mcp.py"
    args = ("tools", "add-mcp", "notes", "--command", command, "--approval", "write_note", "--timeout", "5")
    status, out, _ = run_main(monkeypatch, capsys, *args)
    path = home / "run.yaml"
    assert status == 0 and f"added MCP server 'notes' in {path}" in out
    config = yaml.safe_load(path.read_text())
    runconfig.validate(config)
    [provider] = [p for p in config["providers"]["tool_runtime"] if p["provider_type"] == "inline::herd-mcp"]
    [server] = provider["config"]["servers"]
    assert server == {
        "name": "notes",
        "command": [sys.executable, "tests/notes_mcp.py"],
        "timeout_seconds": 5.0,
        "requires_approval": ["write_note"],
    }
    status, _, err = run_main(monkeypatch, capsys, "tools", "add-mcp", "notes", "--url", "http://127.0.0.1:9/mcp")
    assert status == 1 and "already has an MCP server named 'notes'; pass --replace" in err
    replace = ("tools", "add-mcp", "notes", "--url", "http://127.0.0.1:9/mcp", "--replace")
    status, out, _ = run_main(monkeypatch, capsys, *replace)
    assert status == 0 and "replaced" in out
    [server] = [
        p for p in yaml.safe_load(path.read_text())["providers"]["tool_runtime"] if p["provider_id"] == "herd-mcp"
    ][0]["config"]["servers"]
    assert server["url"] == "http://127.0.0.1:9/mcp" and "command" not in server


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Bad", "--url", "http://x/mcp"), "use lowercase letters"),
        (("ok", "--url", "ftp://x"), "must be http:// or https://"),
        (("ok",), "exactly one of --command"),
        (("ok", "--command", "x", "--url", "http://x/mcp"), "exactly one of --command"),
        (("ok", "--command", "x", "--env", "NOEQUALS"), "NAME=VALUE"),
    ],
)
def test_add_mcp_refuses_bad_servers_and_writes_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    config = home / "run.yaml"
    status, _, err = run_main(monkeypatch, capsys, "tools", "add-mcp", *args, "--config", str(_copy(config)))
    assert status == 1 and message in err, err
    assert "herd-mcp" not in config.read_text() or "servers: []" in config.read_text()


def _copy(path: Path) -> Path:
    from herd.distribution import templates

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(runconfig.render("embedded", templates.embedded()))
    return path
