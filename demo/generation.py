"""The offline demo: a full 3 x 4 x 15 grid generated against the in-process fake server.

Called by the ``demo`` management command::

    from demo.generation import generate_demo_run, run_to_study
    run = generate_demo_run(lead=lead)                      # 180 transcripts, synchronous
    study = run_to_study(run=run, by=lead, name="Scaffold stress test (demo)")
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from transcripts.builtin import DEMO_PROMPT_SET, install_builtins
from transcripts.leases import slot_drive
from transcripts.models import GenerationRun, ModelEndpoint, Prompt, PromptSet, Scaffold
from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig
from transcripts.services import endpoint_create, run_create, run_to_study

# Name, API, model, and made-up prices (USD per 1M input / output tokens) so the new-run
# form's cost preview has something to show. Limits are generous: the run page shows them.
DEMO_ENDPOINTS = [
    ("Atlas 7B (fake)", ModelEndpoint.Provider.OPENAI_COMPATIBLE, "atlas-7b", "0.15", "0.60"),
    ("Borealis 70B (fake)", ModelEndpoint.Provider.ANTHROPIC, "borealis-70b", "3.00", "15.00"),
    ("Cirrus mini (fake)", ModelEndpoint.Provider.OPENAI_COMPATIBLE, "cirrus-mini", "0.10", "0.40"),
]
DEMO_LIMITS = {"requests_per_minute": 600, "tokens_per_minute": 400_000}

__all__ = ["generate_demo_run", "run_to_study", "demo_endpoints"]


def _base_url(provider: str, port: int) -> str:
    root = f"http://127.0.0.1:{port}"
    return root if provider == ModelEndpoint.Provider.ANTHROPIC else root + "/v1"


def demo_endpoints(*, lead, port: int | None = None) -> list[ModelEndpoint]:
    """The lead's three fake endpoints, pointing at the offline model server on ``port``
    (``make run``'s, FAKE_MODEL_PORT, by default); made once, re-pointed after."""
    port = port or settings.FAKE_MODEL_PORT
    endpoints = []
    for name, provider, model, price_in, price_out in DEMO_ENDPOINTS:
        base = _base_url(provider, port)
        existing = ModelEndpoint.objects.filter(created_by=lead, name=name).first()
        if existing is not None:
            ModelEndpoint.objects.filter(pk=existing.pk).update(base_url=base)
            existing.base_url = base
            endpoints.append(existing)
            continue
        endpoints.append(
            endpoint_create(
                by=lead,
                name=name,
                provider=provider,
                base_url=base,
                model=model,
                max_concurrency=8,
                timeout_seconds=10,
                price_input_per_mtok=Decimal(price_in),
                price_output_per_mtok=Decimal(price_out),
                **DEMO_LIMITS,
            )
        )
    return endpoints


def generate_demo_run(*, lead, n_prompts: int = 15) -> GenerationRun:
    """Generate the demo grid synchronously against the fake server; returns the finished run.

    A few requests get an injected 429/500 on their first attempt, so the demo's provenance
    shows retries. Runs in this process whatever the Celery configuration.
    """
    config = FakeServerConfig(latency=0.0, failure_rate=0.05, retry_after=0.01, seed=7)
    with FakeModelServer(config, port=0) as server:
        install_builtins(Scaffold, PromptSet, Prompt)  # in case they were deleted
        endpoints = demo_endpoints(lead=lead, port=server.port)
        scaffolds = [
            Scaffold.objects.filter(code=code).order_by("-version").first()
            for code in ("C1", "C2", "C3", "C4")
        ]
        prompt_set = PromptSet.objects.get(name=DEMO_PROMPT_SET["name"])
        run = run_create(
            by=lead,
            name=f"Demo: {len(endpoints)} models x {len(scaffolds)} scaffolds x "
            f"{n_prompts} prompts",
            endpoints=endpoints,
            scaffolds=scaffolds,
            prompt_set=prompt_set,
            replicates=1,
            config={"temperature": 0.7, "max_tokens": 600, "seed": 2605},
            policy={"base_delay": 0.02, "max_delay": 0.5, "lease_seconds": 60},
            seed=2605,
            max_prompts=n_prompts,
            dispatch=False,
        )
        for endpoint in endpoints:
            slot_drive(run_id=run.pk, endpoint_id=endpoint.pk)
    demo_endpoints(lead=lead)  # back to the long-running server of ``make run``
    run.refresh_from_db()
    return run
