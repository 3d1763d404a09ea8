"""The provider adapter interface: ``complete(messages, config) -> Completion``.

Adapters wrap the official SDKs with their own retries switched off (``max_retries=0``):
AlignWeb's single retry policy (``retry.py``) decides what happens after a failure. Every
SDK failure is mapped to a ``RetryableError`` or a ``FinalError`` with a message that is
safe to store and show (the API key is scrubbed from it).
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import inspect
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2

Message = dict[str, str]


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding parameters for one call. ``extra`` goes through the SDKs' ``extra_body``."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 60.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "stop": list(self.stop),
            "extra": dict(self.extra),
            "timeout": self.timeout,
        }


@dataclass(frozen=True)
class Completion:
    text: str
    served_model: str
    request_id: str | None
    response_id: str | None
    finish_reason: str | None
    input_tokens: int
    output_tokens: int
    latency_ms: int
    sdk: str  # e.g. "openai 3.54.0"
    extra_body: tuple[str, ...] = ()  # parameters the SDK does not name, sent in the body
    ignored_params: tuple[str, ...] = ()  # parameters this API does not support

    @property
    def usage(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


class ProviderError(Exception):
    """A failed call. ``retryable`` says whether the same request may succeed later."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        latency_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.latency_ms = latency_ms


class RetryableError(ProviderError):
    """429, 5xx, timeouts, connection errors, truncated or invalid responses."""

    retryable = True


class FinalError(ProviderError):
    """400, 401/403 (bad key), 404 (unknown model): retrying the same request cannot help."""


class Provider(Protocol):
    sdk_name: str

    def complete(self, messages: list[Message], config: GenerationConfig) -> Completion: ...


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def scrub(text: str, secret: str | None) -> str:
    """Remove the key from any text that may be stored or logged (some APIs echo it)."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[redacted]")
    return text


def status_error(
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None,
    request_id: str | None,
    latency_ms: int,
    model: str,
) -> ProviderError:
    """Map an HTTP error status to a retryable or final error with a clear message."""
    detail = detail[:300]
    kwargs = {"status": status, "request_id": request_id, "latency_ms": latency_ms}
    if status == 429:
        return RetryableError(
            f"Rate limited (429): {detail}", retry_after=parse_retry_after(headers), **kwargs
        )
    if status in (408, 409) or status >= 500:
        return RetryableError(
            f"Server error ({status}): {detail}", retry_after=parse_retry_after(headers), **kwargs
        )
    if status in (401, 403):
        return FinalError(
            f"Authentication failed ({status}): the endpoint rejected the API key. {detail}",
            **kwargs,
        )
    if status == 404:
        return FinalError(f"Not found (404): model {model!r} is unknown here. {detail}", **kwargs)
    return FinalError(f"Request rejected ({status}): {detail}", **kwargs)


def elapsed_ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


@functools.lru_cache(maxsize=32)
def _accepted_params(function: Any) -> frozenset[str]:
    return frozenset(inspect.signature(function).parameters)


def split_params(create: Any, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Named arguments the SDK method accepts, and the rest for ``extra_body``.

    SDK versions differ in which sampling parameters they name (the installed anthropic
    SDK has no ``temperature`` argument); anything not named still reaches the API.
    """
    accepted = _accepted_params(getattr(create, "__func__", create))
    named = {k: v for k, v in params.items() if k in accepted}
    extra = {k: v for k, v in params.items() if k not in accepted}
    return named, extra


_local = threading.local()
MAX_CACHED_CLIENTS = 32


def http_client() -> httpx2.Client:
    """This thread's pooled HTTP client (building one costs ~20 ms of TLS setup).

    Redirects are not followed: a redirect could point past the SSRF guard. Timeouts are
    passed per request.
    """
    client = getattr(_local, "http", None)
    if client is None or client.is_closed:
        client = httpx2.Client(follow_redirects=False)
        _local.http = client
    return client


def cached_sdk_client(kind: str, base_url: str, api_key: str, build: Callable[[], Any]) -> Any:
    """This thread's SDK client for an endpoint (building one costs ~70 ms).

    Kept in memory only, keyed by a hash of the key so a rotated key gets a new client.
    """
    cache: dict[tuple[str, str, str], Any] = getattr(_local, "sdk", None) or {}
    _local.sdk = cache
    ident = (kind, base_url, hashlib.sha256(api_key.encode()).hexdigest())
    if ident not in cache:
        if len(cache) >= MAX_CACHED_CLIENTS:
            cache.clear()
        cache[ident] = build()
    return cache[ident]
