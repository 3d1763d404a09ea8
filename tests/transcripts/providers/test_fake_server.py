"""The fake model server: deterministic replies, scaffold reactions, injected failures."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from transcripts.builtin import DEMO_PROMPTS, SCAFFOLDS
from transcripts.providers.fake_replies import scripted_reply
from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig

SYSTEM = {s["code"]: s["system_prompt"] for s in SCAFFOLDS}
UNDER = [text for _, spec, text in DEMO_PROMPTS if spec == "under"]


def post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


def chat(server, model: str, content: str, **extra) -> tuple[int, dict, dict]:
    body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
    return post(server.openai_base_url + "/chat/completions", body)


def test_replies_are_deterministic_and_differ_by_model():
    a = scripted_reply(model="atlas-7b", system=SYSTEM["C3"], prompt=UNDER[0])
    assert a == scripted_reply(model="atlas-7b", system=SYSTEM["C3"], prompt=UNDER[0])
    replies = {
        scripted_reply(model=m, system=SYSTEM["C3"], prompt=UNDER[0])
        for m in ("atlas-7b", "borealis-70b", "cirrus-mini")
    }
    assert len(replies) == 3


def _share(model: str, scaffold: str, marker: str) -> float:
    hits = [marker in scripted_reply(model=model, system=SYSTEM[scaffold], prompt=p) for p in UNDER]
    return sum(hits) / len(hits)


def test_replies_react_to_the_scaffold_and_models_differ_in_strength():
    questions = "a few things I need to know"
    # Baseline: nobody asks; C2: the strong model asks far more often than the weak one.
    assert _share("borealis-70b", "C1", questions) == 0
    assert _share("borealis-70b", "C2", questions) > _share("atlas-7b", "C2", questions)
    assert _share("borealis-70b", "C2", questions) >= 0.5
    # C3 adds a steerable plan; C4 adds concrete verification.
    steer = "change, reorder or drop"
    assert _share("cirrus-mini", "C1", "My plan:") == 0
    assert _share("borealis-70b", "C3", "My plan:") + _share("borealis-70b", "C3", questions) > 0
    plans = [
        scripted_reply(model="borealis-70b", system=SYSTEM["C3"], prompt=p, seed=s)
        for p in UNDER
        for s in range(3)
    ]
    assert any(steer in r for r in plans)
    assert _share("borealis-70b", "C4", "How to check this:") > _share(
        "atlas-7b", "C4", "How to check this:"
    )
    assert _share("atlas-7b", "C1", "How to check this:") == 0


def test_some_replies_identify_the_model_or_vendor():
    replies = [
        scripted_reply(model=m, system="", prompt=p)
        for m in ("atlas-7b", "borealis-70b", "cirrus-mini")
        for _, _, p in DEMO_PROMPTS
    ]
    markers = ("developed by OpenAI", "I'm Claude", "Gemini", "ChatGPT", "trained by Google")
    assert sum(any(m in r for m in markers) for r in replies) >= 5


def test_first_attempt_failures_are_deterministic_and_then_succeed():
    config = FakeServerConfig(failure_rate=0.2, failure_kinds=("429", "500"), seed=3)
    outcomes = []
    for _ in range(2):
        with FakeModelServer(config) as server:
            first = [chat(server, "cirrus-mini", f"prompt {i}")[0] for i in range(100)]
            second = [chat(server, "cirrus-mini", f"prompt {i}")[0] for i in range(100)]
            outcomes.append(first)
            assert set(second) == {200}  # every failing request succeeds on its retry
            assert max(server.call_counts().values()) == 2
    assert outcomes[0] == outcomes[1]  # same seed, same failures
    failures = [s for s in outcomes[0] if s != 200]
    assert 10 <= len(failures) <= 30
    assert set(failures) == {429, 500}


def test_429_carries_retry_after_headers():
    config = FakeServerConfig(failure_rate=1.0, failure_kinds=("429",), retry_after=1.5)
    with FakeModelServer(config) as server:
        status, headers, body = chat(server, "atlas-7b", "hi")
    assert status == 429
    assert headers["Retry-After"] == "2" and headers["retry-after-ms"] == "1500"
    assert body["error"]["type"] == "rate_limit_error"


def test_random_mode_fails_calls_independently():
    config = FakeServerConfig(failure_rate=0.5, failure_mode="random", seed=1)
    with FakeModelServer(config) as server:
        statuses = [chat(server, "atlas-7b", "same prompt")[0] for _ in range(20)]
    assert 200 in statuses and any(s != 200 for s in statuses)


def test_unknown_model_bad_key_and_bad_body():
    with FakeModelServer(FakeServerConfig(api_key="sk-right")) as server:
        url = server.anthropic_base_url + "/v1/messages"
        good = {"authorization": "Bearer sk-right"}
        body = {
            "model": "borealis-70b",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "x"}],
        }
        assert post(url, body, good)[0] == 200
        assert post(url, body, {"x-api-key": "sk-right"})[0] == 200
        status, _, err = post(url, body, {"x-api-key": "sk-wrong"})
        assert status == 401 and err["error"]["type"] == "authentication_error"
        status, _, err = post(url, body | {"model": "gpt-x"}, good)
        assert status == 404 and err["error"]["type"] == "not_found_error"
        assert post(url, {k: v for k, v in body.items() if k != "max_tokens"}, good)[0] == 400
        assert post(server.url + "/v1/nothing", body, good)[0] == 404


def test_call_counts_key_on_distinct_requests():
    with FakeModelServer() as server:
        chat(server, "atlas-7b", "a")
        chat(server, "atlas-7b", "a")
        chat(server, "atlas-7b", "a", seed=2)
        chat(server, "cirrus-mini", "a")
        assert sorted(server.call_counts().values()) == [1, 1, 2]
        assert server.total_calls == 4


def test_latency_is_applied():
    import time

    with FakeModelServer(FakeServerConfig(latency=0.2)) as server:
        start = time.monotonic()
        chat(server, "atlas-7b", "slow")
        assert time.monotonic() - start >= 0.2


def test_config_validation():
    with pytest.raises(ValueError):
        FakeServerConfig(failure_kinds=("teapot",))
    with pytest.raises(ValueError):
        FakeServerConfig(failure_rate=2)
