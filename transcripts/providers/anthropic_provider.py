"""Anthropic Messages API via the official ``anthropic`` SDK."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import anthropic.resources.messages  # noqa: F401 - load now, not in the first call

from .base import (
    Completion,
    GenerationConfig,
    Message,
    cached_sdk_client,
    elapsed_ms,
    http_client,
    split_params,
)
from .openai_provider import INVALID_RESPONSE, sdk_error

# The Messages API requires max_tokens; this is used when a run leaves it unset.
DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider:
    sdk_name = f"anthropic {anthropic.__version__}"
    sdk_label = "Anthropic"

    def __init__(self, *, base_url: str, model: str, api_key: str | None) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key = api_key or "no-key"

    def request_params(self, messages: list[Message], config: GenerationConfig) -> dict[str, Any]:
        """Everything sent besides model and messages; the system prompt is a parameter here."""
        params: dict[str, Any] = {"max_tokens": config.max_tokens or DEFAULT_MAX_TOKENS}
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        if system:
            params["system"] = system
        for name in ("temperature", "top_p"):
            value = getattr(config, name)
            if value is not None:
                params[name] = value
        if config.stop:
            params["stop_sequences"] = list(config.stop)
        params.update(config.extra)
        return params

    def complete(self, messages: list[Message], config: GenerationConfig) -> Completion:
        start = time.monotonic()
        client = cached_sdk_client(
            "anthropic",
            self.base_url,
            self.api_key,
            lambda: anthropic.Anthropic(
                api_key=self.api_key,
                base_url=self.base_url,
                max_retries=0,  # AlignWeb's retry policy decides
                http_client=http_client(),
            ),
        )
        turns = [m for m in messages if m["role"] != "system"]
        named, extra = split_params(client.messages.create, self.request_params(messages, config))
        try:
            raw = client.messages.with_raw_response.create(
                model=self.model,
                messages=turns,
                extra_body=extra or None,
                timeout=config.timeout,
                **named,
            )
            request_id = raw.headers.get("request-id")
            result = raw.parse()
            text = "".join(
                getattr(block, "text", "") for block in result.content if block.type == "text"
            )
        except (anthropic.AnthropicError, *INVALID_RESPONSE) as exc:
            raise sdk_error(exc, anthropic, self, config, start)
        usage = result.usage
        return Completion(
            text=text,
            served_model=result.model or self.model,
            request_id=request_id,
            response_id=result.id,
            finish_reason=result.stop_reason,
            input_tokens=(usage.input_tokens if usage else 0) or 0,
            output_tokens=(usage.output_tokens if usage else 0) or 0,
            latency_ms=elapsed_ms(start),
            sdk=self.sdk_name,
            extra_body=tuple(sorted(extra)),
            # The Messages API has no sampling seed; the run card says so per endpoint.
            ignored_params=("seed",) if config.seed is not None else (),
        )
