"""Each adapter against the fake server: request shape, parsing, error mapping."""

from __future__ import annotations

import socket

import pytest

from transcripts.providers import FinalError, GenerationConfig, RetryableError, build_provider
from transcripts.providers.base import parse_retry_after, scrub
from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig

SYSTEM = {"role": "system", "content": "Ask clarifying questions before answering."}
USER = {"role": "user", "content": "Plan a trip for me next month."}
CONFIG = GenerationConfig(
    temperature=0.3,
    top_p=0.9,
    max_tokens=400,
    seed=11,
    stop=("STOP-HERE",),
    extra={"top_k": 40, "repetition_penalty": 1.1},
    timeout=5,
)


@pytest.fixture
def server():
    with FakeModelServer(FakeServerConfig(api_key="sk-test-123", retry_after=0.25)) as s:
        yield s


def openai(server, model="atlas-7b", key="sk-test-123"):
    return build_provider(
        provider="openai_compatible", base_url=server.openai_base_url, model=model, api_key=key
    )


def anthropic(server, model="borealis-70b", key="sk-test-123"):
    return build_provider(
        provider="anthropic", base_url=server.anthropic_base_url, model=model, api_key=key
    )


def test_openai_request_shape_and_parsing(server):
    completion = openai(server).complete([SYSTEM, USER], CONFIG)
    request = server.requests()[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.headers["x-stainless-retry-count"] == "0"
    body = request.body
    assert body["model"] == "atlas-7b"
    assert body["messages"] == [SYSTEM, USER]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (
        0.3,
        0.9,
        400,
        11,
    )
    assert body["stop"] == ["STOP-HERE"]
    # Extra parameters travel in the body via extra_body.
    assert body["top_k"] == 40 and body["repetition_penalty"] == 1.1
    assert completion.extra_body == ("repetition_penalty", "top_k")
    assert completion.served_model == "atlas-7b-2025-06-01"
    assert completion.response_id.startswith("chatcmpl-")
    assert completion.request_id.startswith("req_")
    assert completion.finish_reason == "stop"
    assert completion.input_tokens > 0 and completion.output_tokens > 0
    assert completion.sdk.startswith("openai ")
    assert completion.text


def test_anthropic_request_shape_and_parsing(server):
    completion = anthropic(server).complete([SYSTEM, USER], CONFIG)
    request = server.requests()[-1]
    assert request.path == "/v1/messages"
    body = request.body
    assert body["system"] == SYSTEM["content"]
    assert body["messages"] == [USER]  # the system prompt is a parameter, not a turn
    assert body["max_tokens"] == 400
    assert body["stop_sequences"] == ["STOP-HERE"]
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9
    assert body["top_k"] == 40
    assert "seed" not in body
    assert completion.ignored_params == ("seed",)
    assert completion.served_model == "borealis-70b-instruct"
    assert completion.response_id.startswith("msg_")
    assert completion.finish_reason == "end_turn"
    assert completion.sdk.startswith("anthropic ")


def test_anthropic_defaults_max_tokens(server):
    anthropic(server).complete([USER], GenerationConfig())
    assert server.requests()[-1].body["max_tokens"] == 1024


def test_max_tokens_reports_length_finish(server):
    completion = openai(server).complete([USER], GenerationConfig(max_tokens=5))
    assert completion.finish_reason == "length"
    assert completion.output_tokens == 5


@pytest.mark.parametrize("adapter", [openai, anthropic])
def test_unknown_model_is_final(server, adapter):
    with pytest.raises(FinalError) as info:
        adapter(server, model="no-such-model").complete([USER], CONFIG)
    assert info.value.status == 404
    assert "no-such-model" in str(info.value)


@pytest.mark.parametrize("adapter", [openai, anthropic])
def test_bad_key_is_final_and_not_echoed(server, adapter):
    with pytest.raises(FinalError) as info:
        adapter(server, key="sk-wrong-key-456").complete([USER], CONFIG)
    assert info.value.status == 401
    assert "Authentication failed" in str(info.value)
    assert "sk-wrong-key-456" not in str(info.value)


@pytest.mark.parametrize("adapter", [openai, anthropic])
def test_rate_limit_is_retryable_with_retry_after(server, adapter):
    server.configure(failure_rate=1.0, failure_kinds=("429",))
    with pytest.raises(RetryableError) as info:
        adapter(server).complete([USER], CONFIG)
    assert info.value.status == 429
    assert info.value.retry_after == pytest.approx(0.25)


@pytest.mark.parametrize("adapter", [openai, anthropic])
@pytest.mark.parametrize(
    ("kind", "expected"),
    [("500", "Server error (500)"), ("timeout", "Timed out"), ("truncated", "truncated")],
)
def test_transient_failures_are_retryable(server, adapter, kind, expected):
    server.configure(failure_rate=1.0, failure_kinds=(kind,), hang_seconds=1.0)
    with pytest.raises(RetryableError) as info:
        adapter(server).complete([USER], GenerationConfig(timeout=0.3))
    assert expected in str(info.value)


@pytest.mark.parametrize("kind", ["openai_compatible", "anthropic"])
def test_connection_refused_is_retryable(kind):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    adapter = build_provider(
        provider=kind, base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key=None
    )
    with pytest.raises(RetryableError) as info:
        adapter.complete([USER], GenerationConfig(timeout=2))
    assert "Connection error" in str(info.value)


def test_redirects_are_not_followed(server):
    """A 30x could send the call past the SSRF guard; the adapter treats it as an error."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(307)
            self.send_header("Location", server.openai_base_url + "/chat/completions")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        adapter = build_provider(
            provider="openai_compatible",
            base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1",
            model="atlas-7b",
            api_key="sk-test-123",
        )
        before = server.total_calls
        with pytest.raises((FinalError, RetryableError)):
            adapter.complete([USER], CONFIG)
        assert server.total_calls == before
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_parse_retry_after_forms():
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_scrub_removes_key():
    assert scrub("bad key sk-abcdef given", "sk-abcdef") == "bad key [redacted] given"
    assert scrub("nothing", None) == "nothing"
