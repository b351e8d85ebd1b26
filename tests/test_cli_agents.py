"""`herd agents` from the shell: listing definitions without a server, and clear errors when one is missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port

HERD = Path(sys.executable).with_name("herd")
BUILTINS = ["analyst", "assistant", "calendar-invite", "chart-reader", "summarise-actions", "tone"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if k != "HERD_AGENTS_DIRS"}
    return {**values, "HERD_HOME": str(tmp_path / "home"), "COLUMNS": "200"}


def herd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HERD), *args], capture_output=True, text=True, timeout=60, env=env)


def rows(stdout: str) -> dict[str, list[str]]:
    """NAME -> the other columns, from the listing's table."""
    lines = stdout.strip().splitlines()
    assert lines[0].split()[:5] == ["NAME", "MODEL", "POLICY", "TOOLS", "DESCRIPTION"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


HELP = {
    ("agents",): ["list", "run", "agent:NAME"],
    ("agents", "list"): ["--url", "--agents", "$HERD_HOME/agents"],
    ("agents", "run"): ["name", "prompt", "--image", "--conversation", "--last", "--out", "--url", "8321"],
}


@pytest.mark.parametrize("command", list(HELP), ids=" ".join)
def test_help(env: dict[str, str], command: tuple[str, ...]) -> None:
    result = herd(env, *command, "--help")
    assert result.returncode == 0, result.stderr
    for word in HELP[command]:
        assert word in result.stdout, f"`herd {' '.join(command)} --help` does not mention {word}"


def test_list_shows_the_builtins_without_a_server(env: dict[str, str]) -> None:
    result = herd(env, "agents", "list")
    assert result.returncode == 0, result.stderr
    listed = rows(result.stdout)
    assert sorted(listed) == BUILTINS
    assert listed["assistant"][:3] == ["herd/qwen2.5-coder-1.5b-instruct", "local-only", "-"]
    assert listed["chart-reader"][:2] == ["compose/vision-composed", "prefer-local"]


def test_list_adds_agents_from_a_folder_and_home(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    office = {"type": "mcp", "server_label": "office", "server_url": "http://127.0.0.1:9/mcp"}
    body = {"instructions": "x", "model": "herd/m", "description": "Books rooms.", "tools": [office]}
    (folder / "rooms.yaml").write_text(yaml.safe_dump({**body, "routing": {"policy": "allow-remote"}}))
    home_agents = Path(env["HERD_HOME"]) / "agents"
    home_agents.mkdir(parents=True)
    (home_agents / "tone.yaml").write_text(yaml.safe_dump({"instructions": "y", "model": "herd/other"}))
    result = herd(env, "agents", "list", "--agents", str(folder))
    assert result.returncode == 0, result.stderr
    listed = rows(result.stdout)
    assert sorted(listed) == sorted([*BUILTINS, "rooms"])
    assert listed["rooms"] == ["herd/m", "allow-remote", "mcp:office", "Books", "rooms."]
    assert listed["tone"] == ["herd/other", "prefer-local", "-"]


def test_a_bad_definition_is_one_line_naming_the_file_and_field(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("instructions: x\nmodel: herd/m\nmax_turns: 0\n")
    result = herd(env, "agents", "list", "--agents", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("herd: error: agent definition ")
    assert str(tmp_path / "bad.yaml") in line and "max_turns" in line


def test_a_missing_folder_is_a_usage_error(env: dict[str, str], tmp_path: Path) -> None:
    result = herd(env, "agents", "list", "--agents", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "missing" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command", [("agents", "run", "tone", "Say hi."), ("agents", "list")], ids=["run", "list --url"]
)
def test_no_server_says_to_start_one(env: dict[str, str], command: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = herd(env, *command, "--url", url)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"herd: error: no Herd server answers at {url}")
    assert "`herd run`" in line
