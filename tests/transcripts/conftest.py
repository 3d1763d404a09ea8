"""Fixtures for generation tests: the in-process fake model server and a lead's endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from transcripts.models import GenerationRun, ModelEndpoint, PromptSet, Scaffold
from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig

# Fast but real: tiny backoff, short leases, honoured Retry-After of 50 ms.
FAST_POLICY = {
    "max_attempts": 4,
    "max_total_seconds": 60,
    "base_delay": 0.02,
    "max_delay": 0.2,
    "lease_seconds": 5,
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Personas hash six passwords; the default PBKDF2 costs ~1.5 s per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fake_server() -> Iterator[FakeModelServer]:
    with FakeModelServer(FakeServerConfig(retry_after=0.05)) as server:
        yield server


@pytest.fixture
def make_endpoint(db) -> Callable[..., ModelEndpoint]:
    """Create an endpoint row directly (the service path is tested on its own)."""

    def make(*, owner, server: FakeModelServer | None = None, **fields) -> ModelEndpoint:
        provider = fields.pop("provider", ModelEndpoint.Provider.OPENAI_COMPATIBLE)
        if "base_url" not in fields:
            assert server is not None
            fields["base_url"] = (
                server.anthropic_base_url
                if provider == ModelEndpoint.Provider.ANTHROPIC
                else server.openai_base_url
            )
        fields.setdefault("model", "atlas-7b")
        fields.setdefault("name", f"{fields['model']} {provider}")
        fields.setdefault("timeout_seconds", 2)
        fields.setdefault("max_concurrency", 8)
        return ModelEndpoint.objects.create(created_by=owner, provider=provider, **fields)

    return make


@pytest.fixture
def demo_endpoints(make_endpoint) -> Callable[..., list[ModelEndpoint]]:
    def make(owner, server: FakeModelServer, **fields) -> list[ModelEndpoint]:
        return [
            make_endpoint(owner=owner, server=server, model="atlas-7b", **fields),
            make_endpoint(
                owner=owner,
                server=server,
                model="borealis-70b",
                provider=ModelEndpoint.Provider.ANTHROPIC,
                **fields,
            ),
            make_endpoint(owner=owner, server=server, model="cirrus-mini", **fields),
        ]

    return make


def _builtins() -> None:
    """Transactional tests flush the tables the data migration filled; put them back."""
    from transcripts.builtin import install_builtins
    from transcripts.models import Prompt

    install_builtins(Scaffold, PromptSet, Prompt)


def builtin_scaffolds() -> list[Scaffold]:
    _builtins()
    return list(Scaffold.objects.filter(version=1, code__in=["C1", "C2", "C3", "C4"]))


def demo_prompt_set() -> PromptSet:
    _builtins()
    return PromptSet.objects.get(builtin=True)


def wait_for_run(run: GenerationRun, timeout: float = 180.0) -> GenerationRun:
    """Poll until the run leaves RUNNING (a worker process is doing the work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status != GenerationRun.Status.RUNNING:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run.pk} still running after {timeout} s")
