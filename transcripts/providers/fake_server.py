"""A local OpenAI- and Anthropic-compatible model server for tests, benchmarks and the demo.

Speaks ``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages`` (Anthropic) with
scripted replies (``fake_replies.py``), configurable latency and injected failures.

Failure injection is deterministic given ``seed``: in the default ``first`` mode a fixed
``failure_rate`` share of *distinct requests* fail their first ``fail_attempts`` calls and
then succeed, so a test can assert that every cell eventually succeeds. ``random`` mode
fails each call independently (still seeded by request and call number).

Use in-process::

    with FakeModelServer(FakeServerConfig(latency=0.01)) as server:
        server.openai_base_url   # http://127.0.0.1:PORT/v1
        server.anthropic_base_url  # http://127.0.0.1:PORT
        server.call_counts()     # {request_key: calls}
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake_judge import JUDGE_OUTPUTS, is_judge_request, judge_reply
from .fake_replies import DEMO_MODELS, PROFILES, scripted_reply

FAILURE_KINDS = ("429", "500", "timeout", "truncated")


@dataclass(frozen=True)
class FakeServerConfig:
    latency: float = 0.0
    failure_rate: float = 0.0
    failure_kinds: tuple[str, ...] = ("429", "500")
    failure_mode: str = "first"  # "first": the first fail_attempts calls; "random": any call
    fail_attempts: int = 1
    seed: int = 0
    retry_after: float = 1.0
    hang_seconds: float = 5.0  # how long a "timeout" failure stalls before answering
    api_key: str | None = None  # when set, requests must carry this key
    models: tuple[str, ...] | None = DEMO_MODELS  # None accepts any model name
    # Judge mode (requests for rubric scores, fake_judge.py): what to return, for which
    # share of distinct items, and for how many calls per item (0: every call).
    judge_output: str = "valid"
    judge_bad_rate: float = 1.0
    judge_bad_attempts: int = 0

    def __post_init__(self) -> None:
        if self.judge_output not in JUDGE_OUTPUTS:
            raise ValueError(f"judge_output must be one of {', '.join(JUDGE_OUTPUTS)}")
        unknown = set(self.failure_kinds) - set(FAILURE_KINDS)
        if unknown:
            raise ValueError(f"unknown failure kinds: {sorted(unknown)}")
        if not 0 <= self.failure_rate <= 1:
            raise ValueError("failure_rate must be between 0 and 1")


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    key: str
    call: int
    outcome: str = "ok"


def request_key(path: str, body: dict[str, Any]) -> str:
    """Identity of a distinct request: what a retry of the same cell sends again."""
    ident = {
        "api": "anthropic" if path.endswith("/messages") else "openai",
        "model": body.get("model"),
        "system": body.get("system"),
        "messages": body.get("messages"),
        "seed": body.get("seed"),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


@dataclass
class _State:
    config: FakeServerConfig
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter = field(default_factory=Counter)
    judge_counts: Counter = field(default_factory=Counter)  # calls per judged item
    in_flight: Counter = field(default_factory=Counter)  # per model, right now
    peak_in_flight: Counter = field(default_factory=Counter)  # per model, the maximum seen
    peak_total: int = 0  # all models at once
    log: deque[RecordedRequest] = field(default_factory=lambda: deque(maxlen=10_000))
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    server_version = "AlignWebFake/1.0"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms stalls)
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and benchmarks read counts, not access logs

    # -- plumbing -------------------------------------------------------------------
    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)  # the client may have given up (timeout injection)

    def _error(self, api: str, status: int, kind: str, message: str, **headers: str) -> None:
        if api == "anthropic":
            payload = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            payload = {"error": {"message": message, "type": kind, "code": kind}}
        self._send(status, payload, headers)

    def _presented_key(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return self.headers.get("x-api-key")

    # -- request handling -----------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path.rstrip("/") in ("", "/health", "/v1/models"):
            models = list(self.state.config.models or PROFILES)
            self._send(200, {"object": "list", "data": [{"id": m} for m in models]})
            return
        self._error("openai", 404, "not_found", f"No route {self.path}")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?")[0].rstrip("/")
        api = "anthropic" if path.endswith("/v1/messages") else "openai"
        if path not in ("/v1/chat/completions", "/v1/messages"):
            self._error(api, 404, "not_found", f"No route {self.path}")
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._error(api, 400, "invalid_request_error", "Body is not valid JSON")
            return
        cfg = self.state.config
        if cfg.api_key is not None and self._presented_key() != cfg.api_key:
            self._error(api, 401, "authentication_error", "Invalid API key.")
            return
        model = str(body.get("model") or "")
        if cfg.models is not None and model not in cfg.models:
            kind = "not_found_error" if api == "anthropic" else "model_not_found"
            self._error(api, 404, kind, f"The model '{model}' does not exist.")
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self._error(api, 400, "invalid_request_error", "messages must be a non-empty list")
            return
        if api == "anthropic" and not isinstance(body.get("max_tokens"), int):
            self._error(api, 400, "invalid_request_error", "max_tokens: field required")
            return

        key = request_key(path, body)
        with self.state.lock:
            self.state.counts[key] += 1
            call = self.state.counts[key]
            serial = next(self.state.ids)
            record = RecordedRequest(
                path, {k.lower(): v for k, v in self.headers.items()}, body, key, call
            )
            self.state.log.append(record)
            self.state.in_flight[model] += 1
            peak = max(self.state.peak_in_flight[model], self.state.in_flight[model])
            self.state.peak_in_flight[model] = peak
            self.state.peak_total = max(self.state.peak_total, sum(self.state.in_flight.values()))
        try:
            self._respond(api, body, record, serial)
        finally:
            with self.state.lock:
                self.state.in_flight[model] -= 1

    def _respond(
        self, api: str, body: dict[str, Any], record: RecordedRequest, serial: int
    ) -> None:
        cfg = self.state.config
        key, call = record.key, record.call
        if cfg.latency:
            time.sleep(cfg.latency)
        failure = self._failure(key, call)
        record.outcome = failure or "ok"
        if failure == "429":
            wait = cfg.retry_after
            self._error(
                api,
                429,
                "rate_limit_error",
                "Rate limit reached; slow down.",
                **{"Retry-After": str(math.ceil(wait)), "retry-after-ms": str(int(wait * 1000))},
                **self._id_headers(api, serial),
            )
            return
        if failure == "500":
            self._error(
                api,
                500,
                "api_error",
                "Internal server error (injected).",
                **self._id_headers(api, serial),
            )
            return
        if failure == "timeout":
            time.sleep(cfg.hang_seconds)
        payload = self._completion(api, body, serial)
        if failure == "truncated":
            raw = json.dumps(payload).encode()
            self._send(200, raw[: len(raw) // 2], self._id_headers(api, serial))
            return
        self._send(200, payload, self._id_headers(api, serial))

    def _failure(self, key: str, call: int) -> str | None:
        cfg = self.state.config
        if not cfg.failure_rate or not cfg.failure_kinds:
            return None
        if cfg.failure_mode == "random":
            if _unit(cfg.seed, key, call) >= cfg.failure_rate:
                return None
            return cfg.failure_kinds[
                int(_unit("kind", cfg.seed, key, call) * len(cfg.failure_kinds))
            ]
        if call > cfg.fail_attempts or _unit(cfg.seed, key) >= cfg.failure_rate:
            return None
        return cfg.failure_kinds[int(_unit("kind", cfg.seed, key) * len(cfg.failure_kinds))]

    def _judge(self, model: str, system: str, turns: list[dict[str, Any]]) -> str:
        """Rubric scores for the item in the first user turn (a retry adds turns after it)."""
        cfg = self.state.config
        transcript = next((str(m.get("content", "")) for m in turns if m.get("role") == "user"), "")
        key = hashlib.sha256(f"{model}|{system}|{transcript}".encode()).hexdigest()[:24]
        with self.state.lock:
            self.state.judge_counts[key] += 1
            call = self.state.judge_counts[key]
        output = cfg.judge_output
        if output != "valid" and (
            _unit("judge-bad", cfg.seed, key) >= cfg.judge_bad_rate
            or (cfg.judge_bad_attempts and call > cfg.judge_bad_attempts)
        ):
            output = "valid"
        return judge_reply(model=model, system=system, transcript=transcript, output=output)

    @staticmethod
    def _id_headers(api: str, serial: int) -> dict[str, str]:
        name = "request-id" if api == "anthropic" else "x-request-id"
        return {name: f"req_{serial:08d}{hashlib.sha256(str(serial).encode()).hexdigest()[:8]}"}

    def _completion(self, api: str, body: dict[str, Any], serial: int) -> dict[str, Any]:
        model = str(body.get("model"))
        turns = [m for m in body["messages"] if isinstance(m, dict)]
        system = str(body.get("system") or "") + "".join(
            str(m.get("content", "")) for m in turns if m.get("role") == "system"
        )
        user = next(
            (str(m.get("content", "")) for m in reversed(turns) if m.get("role") == "user"), ""
        )
        if is_judge_request(system):
            text = self._judge(model, system, turns)
        else:
            text = scripted_reply(model=model, system=system, prompt=user, seed=body.get("seed"))
        finish = "stop"
        stops = body.get("stop") or body.get("stop_sequences") or []
        for stop in [stops] if isinstance(stops, str) else stops:
            if stop and stop in text:
                text = text[: text.index(stop)]
        words = text.split()
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(limit, int) and len(words) > limit:
            text, finish = " ".join(words[:limit]), "length"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in turns) + len(
            system.split()
        )
        out_tokens = len(text.split())
        profile = PROFILES.get(model)
        served = profile.served_as if profile else model
        suffix = hashlib.sha256(f"{serial}".encode()).hexdigest()[:20]
        if api == "anthropic":
            return {
                "id": f"msg_{suffix}",
                "type": "message",
                "role": "assistant",
                "model": served,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "max_tokens" if finish == "length" else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": out_tokens},
            }
        return {
            "id": f"chatcmpl-{suffix}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": served,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": out_tokens,
                "total_tokens": prompt_tokens + out_tokens,
            },
        }


class FakeModelServer:
    """The fake server on a background thread; port 0 picks a free port."""

    def __init__(
        self, config: FakeServerConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._state = _State(config or FakeServerConfig())
        handler = type("BoundHandler", (_Handler,), {"state": self._state})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def config(self) -> FakeServerConfig:
        return self._state.config

    def configure(self, **changes: Any) -> None:
        """Change behaviour while running (e.g. switch failures off)."""
        with self._state.lock:
            self._state.config = replace(self._state.config, **changes)

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # quick shutdown for tests
            name="fake-model-server",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------------------
    def peak_in_flight(self) -> dict[str, int]:
        """The most concurrent requests seen per model (checks concurrency limits)."""
        with self._state.lock:
            return dict(self._state.peak_in_flight)

    @property
    def peak_in_flight_total(self) -> int:
        """The most concurrent requests seen across all models."""
        with self._state.lock:
            return self._state.peak_total

    def call_counts(self) -> dict[str, int]:
        """Calls per distinct request (a cell's retries share one key)."""
        with self._state.lock:
            return dict(self._state.counts)

    @property
    def total_calls(self) -> int:
        with self._state.lock:
            return sum(self._state.counts.values())

    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.log)

    def reset(self) -> None:
        with self._state.lock:
            self._state.counts.clear()
            self._state.judge_counts.clear()
            self._state.log.clear()
            self._state.peak_in_flight.clear()
            self._state.peak_total = 0
