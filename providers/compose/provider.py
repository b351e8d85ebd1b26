"""The spec llama-stack reads for the ``module: herd.providers.compose`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-compose"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.inference,
        provider_type=PROVIDER_TYPE,
        pip_packages=["rapidocr-onnxruntime", "pillow"],
        module="herd.providers.compose",
        config_class="herd.providers.compose.config.ComposeConfig",
        description="Virtual models: a vision stage turns images (and video frames) into text, "
        "then a lightweight model served by another provider reasons and calls tools.",
    )
