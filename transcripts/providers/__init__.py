"""Model provider adapters over the official SDKs, the retry policy and a fake server."""

from __future__ import annotations

import logging

from .base import (
    Completion,
    FinalError,
    GenerationConfig,
    Provider,
    ProviderError,
    RetryableError,
)

# The SDKs' HTTP client logs every request at INFO; a run makes thousands. Warnings stay.
logging.getLogger("httpx2").setLevel(logging.WARNING)

OPENAI_COMPATIBLE = "openai_compatible"
ANTHROPIC = "anthropic"


def build_provider(*, provider: str, base_url: str, model: str, api_key: str | None) -> Provider:
    """The adapter for an endpoint's provider kind."""
    # Imported here so the fake server and forms don't pay ~2 s of SDK imports; workers
    # import both SDKs at start-up (tasks.py).
    if provider == OPENAI_COMPATIBLE:
        from .openai_provider import OpenAIProvider

        return OpenAIProvider(base_url=base_url, model=model, api_key=api_key)
    if provider == ANTHROPIC:
        from .anthropic_provider import AnthropicProvider

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
