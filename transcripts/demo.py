"""The offline demo: a full 3 x 4 x 15 grid generated against the in-process fake server.

Called by the ``demo`` management command::

    from transcripts.demo import generate_demo_run, run_to_study
    run = generate_demo_run(lead=lead)                      # 180 transcripts, synchronous
    study = run_to_study(run=run, by=lead, name="Scaffold stress test (demo)")
"""

from __future__ import annotations

from .builtin import DEMO_PROMPT_SET, install_builtins
from .claims import slot_drive
from .models import GenerationRun, ModelEndpoint, Prompt, PromptSet, Scaffold
from .providers.fake_server import FakeModelServer, FakeServerConfig
from .services import endpoint_create, run_create, run_to_study

# ``make fake-server`` listens here; the demo uses the same port when it is free, so the
# demo endpoints keep working after the demo if that server is started.
DEMO_PORT = 8765
DEMO_ENDPOINTS = [
    ("Atlas 7B (fake)", ModelEndpoint.Provider.OPENAI_COMPATIBLE, "atlas-7b"),
    ("Borealis 70B (fake)", ModelEndpoint.Provider.ANTHROPIC, "borealis-70b"),
    ("Cirrus mini (fake)", ModelEndpoint.Provider.OPENAI_COMPATIBLE, "cirrus-mini"),
]

__all__ = ["generate_demo_run", "run_to_study", "demo_endpoints"]


def _demo_server(config: FakeServerConfig) -> FakeModelServer:
    try:
        return FakeModelServer(config, port=DEMO_PORT)
    except OSError:  # taken (e.g. by ``make fake-server``): any free port will do
        return FakeModelServer(config, port=0)


def demo_endpoints(*, lead, server: FakeModelServer) -> list[ModelEndpoint]:
    """The lead's three fake endpoints (reused if they already exist)."""
    endpoints = []
    for name, provider, model in DEMO_ENDPOINTS:
        base = (
            server.anthropic_base_url
            if provider == ModelEndpoint.Provider.ANTHROPIC
            else server.openai_base_url
        )
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
            )
        )
    return endpoints


def generate_demo_run(*, lead, n_prompts: int = 15) -> GenerationRun:
    """Generate the demo grid synchronously against the fake server; returns the finished run.

    A few requests get an injected 429/500 on their first attempt, so the demo's provenance
    shows retries. Runs in this process whatever the Celery configuration.
    """
    config = FakeServerConfig(latency=0.0, failure_rate=0.05, retry_after=0.01, seed=7)
    with _demo_server(config) as server:
        install_builtins(Scaffold, PromptSet, Prompt)  # in case they were deleted
        endpoints = demo_endpoints(lead=lead, server=server)
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
    run.refresh_from_db()
    return run
