"""The spec llama-stack reads for the ``module: herd.providers.files`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-files"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.files,
        provider_type=PROVIDER_TYPE,
        pip_packages=["sqlalchemy[asyncio]", "aiosqlite"],
        module="herd.providers.files",
        config_class="herd.providers.files.config.HerdFilesConfig",
        description="Files on the local filesystem (llama-stack's localfs): an upload that fails, as on a full "
        "disk, leaves no partial file behind, and a full disk is a 507 that says what to free.",
    )
