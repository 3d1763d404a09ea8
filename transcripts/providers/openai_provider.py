"""OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp servers) via ``openai``."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import openai.resources.chat.completions  # noqa: F401 - load now, not in the first call
import pydantic

from .base import (
    Completion,
    FinalError,
    GenerationConfig,
    Message,
    ProviderError,
    RetryableError,
    cached_sdk_client,
    elapsed_ms,
    http_client,
    scrub,
    split_params,
    status_error,
)

# Parsing failures of a 200 response: the body was truncated or not the documented shape.
INVALID_RESPONSE = (json.JSONDecodeError, pydantic.ValidationError, IndexError, AttributeError)


def error_detail(body: object, fallback: str) -> str:
    """The human part of an error body: ``{"error": {"message": ...}}`` in both APIs."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return fallback


def sdk_error(
    exc: Exception, sdk: Any, provider: Any, config: GenerationConfig, start: float
) -> ProviderError:
    """Map an exception of either official SDK (same generated classes) to our error kinds:
    timeouts, connection errors, malformed or truncated answers and 429/5xx are retryable;
    everything else is final. Secrets are scrubbed from every message."""
    key, latency = provider.api_key, elapsed_ms(start)
    if isinstance(exc, sdk.APITimeoutError):
        return RetryableError(f"Timed out after {config.timeout:g} s", latency_ms=latency)
    if isinstance(exc, sdk.APIConnectionError):
        return RetryableError(
            scrub(f"Connection error to {provider.base_url}: {exc.__cause__ or exc}", key),
            latency_ms=latency,
        )
    if isinstance(exc, sdk.APIResponseValidationError):
        return RetryableError(
            "Invalid response (does not match the API schema)", latency_ms=latency
        )
    if isinstance(exc, sdk.APIStatusError):
        return status_error(
            exc.status_code,
            scrub(error_detail(exc.body, exc.message), key),
            headers=exc.response.headers,
            request_id=exc.request_id,
            latency_ms=latency,
            model=provider.model,
        )
    if isinstance(exc, INVALID_RESPONSE):
        return RetryableError(
            f"Invalid or truncated response ({type(exc).__name__})", latency_ms=latency
        )
    return FinalError(scrub(f"{provider.sdk_label} SDK error: {exc}", key))


class OpenAIProvider:
    sdk_name = f"openai {openai.__version__}"
    sdk_label = "OpenAI"

    def __init__(self, *, base_url: str, model: str, api_key: str | None) -> None:
        self.base_url = base_url
        self.model = model
        # Local servers need no key, but the SDK insists on one; the placeholder is not a secret.
        self.api_key = api_key or "no-key"

    def request_params(self, messages: list[Message], config: GenerationConfig) -> dict[str, Any]:
        """Everything sent besides model and messages (named arguments and extra body)."""
        params: dict[str, Any] = {}
        for name in ("temperature", "top_p", "max_tokens", "seed"):
            value = getattr(config, name)
            if value is not None:
                params[name] = value
        if config.stop:
            params["stop"] = list(config.stop)
        params.update(config.extra)
        return params

    def complete(self, messages: list[Message], config: GenerationConfig) -> Completion:
        start = time.monotonic()
        client = cached_sdk_client(
            "openai",
            self.base_url,
            self.api_key,
            lambda: openai.OpenAI(
                api_key=self.api_key,
                base_url=self.base_url,
                max_retries=0,  # AlignWeb's retry policy decides
                http_client=http_client(),
            ),
        )
        named, extra = split_params(
            client.chat.completions.create, self.request_params(messages, config)
        )
        try:
            raw = client.chat.completions.with_raw_response.create(
                model=self.model,
                messages=messages,
                extra_body=extra or None,
                timeout=config.timeout,
                **named,
            )
            request_id = raw.headers.get("x-request-id")
            result = raw.parse()
            choice = result.choices[0]
            text = choice.message.content or ""
        except (openai.OpenAIError, *INVALID_RESPONSE) as exc:
            raise sdk_error(exc, openai, self, config, start)
        usage = result.usage
        return Completion(
            text=text,
            served_model=result.model or self.model,
            request_id=request_id,
            response_id=result.id,
            finish_reason=choice.finish_reason,
            input_tokens=(usage.prompt_tokens if usage else 0) or 0,
            output_tokens=(usage.completion_tokens if usage else 0) or 0,
            latency_ms=elapsed_ms(start),
            sdk=self.sdk_name,
            extra_body=tuple(sorted(extra)),
        )
