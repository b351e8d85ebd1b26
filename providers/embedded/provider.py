"""The spec llama-stack reads for the ``module: herd.providers.embedded`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-embedded"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.inference,
        provider_type=PROVIDER_TYPE,
        pip_packages=["xllamacpp==2026.10.11549", "onnxruntime==1.32.0", "tokenizers==0.23.3"],
        module="herd.providers.embedded",
        config_class="herd.providers.embedded.config.EmbeddedInferenceConfig",
        description="In-process inference: GGUF models on llama.cpp (xllamacpp), ONNX embeddings on onnxruntime.",
    )
