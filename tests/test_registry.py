"""Contract tests: every provider Herd ships imports, builds from its sample config, and fits llama-stack."""

import importlib

import pytest

from herd.distribution import runconfig, templates
from herd.providers.registry import HERD_PROVIDER_MODULES


@pytest.mark.parametrize("module", HERD_PROVIDER_MODULES)
def test_provider_spec_points_back_at_its_module_and_config(module):
    from llama_stack.core.utils.dynamic import instantiate_class_type
    from llama_stack_api import InlineProviderSpec, ProviderSpec

    spec = importlib.import_module(f"{module}.provider").get_provider_spec()
    assert isinstance(spec, ProviderSpec)
    assert spec.module == module
    config_class = instantiate_class_type(spec.config_class)
    config = config_class(**config_class.sample_run_config())
    assert config.model_dump()
    if isinstance(spec, InlineProviderSpec):
        assert callable(importlib.import_module(module).get_provider_impl)


@pytest.mark.parametrize("module", HERD_PROVIDER_MODULES)
def test_provider_config_rejects_unknown_fields(module):
    from llama_stack.core.utils.dynamic import instantiate_class_type
    from pydantic import ValidationError

    spec = importlib.import_module(f"{module}.provider").get_provider_spec()
    config_class = instantiate_class_type(spec.config_class)
    with pytest.raises(ValidationError, match="modles"):
        config_class(**{**config_class.sample_run_config(), "modles": ["x"]})


@pytest.mark.parametrize("module", HERD_PROVIDER_MODULES)
def test_importing_a_provider_factory_loads_no_engine(module):
    import subprocess
    import sys

    code = (
        f"import importlib, sys; importlib.import_module('{module}'); importlib.import_module('{module}.provider');"
        "heavy = [m for m in ('xllamacpp', 'onnxruntime', 'torch', 'chromadb', 'tokenizers') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("name", sorted(templates.DISTRIBUTIONS))
def test_every_distribution_renders_a_config_llama_stack_accepts(name):
    data = templates.DISTRIBUTIONS[name].render()
    stack_config = runconfig.validate(data)
    assert stack_config.distro_name == name
    assert "inference" in stack_config.providers


def test_committed_run_yaml_is_the_embedded_template_rendered():
    expected = runconfig.render("embedded", templates.embedded())
    actual = runconfig.DEFAULT_RUN_CONFIG.read_text()
    assert actual == expected, "run.yaml drifted from distribution/templates.py; regenerate it with `herd build`"


def test_a_typo_in_a_provider_config_names_the_provider_and_field():
    from herd.errors import ConfigError

    data = templates.embedded()
    data["providers"]["inference"][0]["config"]["paralel"] = 2
    with pytest.raises(ConfigError, match=r"provider 'herd' .*paralel"):
        runconfig.validate(data)


def test_templates_name_the_embedded_provider_by_its_spec():
    from herd.providers.embedded.provider import get_provider_spec

    spec = get_provider_spec()
    assert (spec.provider_type, spec.module) == (templates.EMBEDDED_TYPE, templates.EMBEDDED_MODULE)
