"""Model SDKs load in a worker that takes generation tasks, before it consumes, and
nowhere else (issue 16 item 2; the URL side is tests/alignweb/test_startup_imports.py)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from transcripts.tasks import generation_queue, preload_sdks

ADAPTERS = ("transcripts.providers.openai_provider", "transcripts.providers.anthropic_provider")


def worker_on(*queues: str) -> SimpleNamespace:
    """What ``worker_init`` sends: a worker whose app consumes ``queues``."""
    table = SimpleNamespace(consume_from=dict.fromkeys(queues))
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=table)))


@pytest.fixture
def adapters_unloaded(monkeypatch):
    """As in a fresh process (the package attribute too, or ``from .providers import``
    would find it there); both come back after the test."""
    import transcripts.providers

    for name in ADAPTERS:
        monkeypatch.delitem(sys.modules, name, raising=False)
        monkeypatch.delattr(transcripts.providers, name.rsplit(".", 1)[1], raising=False)


def test_a_worker_without_the_generation_queue_imports_no_sdk(adapters_unloaded):
    preload_sdks(sender=worker_on("default"))
    assert not [name for name in ADAPTERS if name in sys.modules]


def test_a_generation_worker_loads_both_sdks_at_start(adapters_unloaded):
    preload_sdks(sender=worker_on("default", generation_queue()))
    assert all(name in sys.modules for name in ADAPTERS)
    assert "openai" in sys.modules and "anthropic" in sys.modules
