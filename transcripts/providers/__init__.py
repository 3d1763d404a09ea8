"""Model provider adapters over the official SDKs, the retry policy and a fake server."""

from __future__ import annotations

import logging

# Imported eagerly: the SDKs take ~2 s to import, which belongs in worker start-up, not
# in the first calls of a run (eight threads would queue on the import lock).
from .anthropic_provider import AnthropicProvider
from .base import (
    Completion,
    FinalError,
    GenerationConfig,
    Provider,
    ProviderError,
    RetryableError,
)
from .openai_provider import OpenAIProvider

# The SDKs' HTTP client logs every request at INFO; a run makes thousands. Warnings stay.
logging.getLogger("httpx2").setLevel(logging.WARNING)

OPENAI_COMPATIBLE = "openai_compatible"
ANTHROPIC = "anthropic"


def build_provider(*, provider: str, base_url: str, model: str, api_key: str | None) -> Provider:
    """The adapter for an endpoint's provider kind."""
    if provider == OPENAI_COMPATIBLE:
        return OpenAIProvider(base_url=base_url, model=model, api_key=api_key)
    if provider == ANTHROPIC:
        return AnthropicProvider(base_url=base_url, model=model, api_key=api_key)
    raise FinalError(f"Unknown provider {provider!r}")


def sdk_versions() -> dict[str, str]:
    import anthropic
    import openai

    return {"openai": openai.__version__, "anthropic": anthropic.__version__}


__all__ = [
    "ANTHROPIC",
    "OPENAI_COMPATIBLE",
    "Completion",
    "FinalError",
    "GenerationConfig",
    "Provider",
    "ProviderError",
    "RetryableError",
    "build_provider",
    "sdk_versions",
]
