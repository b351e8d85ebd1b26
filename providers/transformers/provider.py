"""The spec llama-stack reads for the ``module: herd.providers.transformers`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-transformers"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.inference,
        provider_type=PROVIDER_TYPE,
        # The `cuda` extra of llama-herd; `make install-cuda` installs it into .venv-cuda.
        pip_packages=["torch==2.14.1", "transformers==5.23.0", "accelerate==1.15.0", "pillow==13.0.0"],
        module="herd.providers.transformers",
        config_class="herd.providers.transformers.config.TransformersInferenceConfig",
        description="In-process inference on Hugging Face transformers + torch (CUDA when present, else CPU): "
        "Llama 3.2 text and vision, Llama Guard 3, from local model folders; batched decoding.",
    )
