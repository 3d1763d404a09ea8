"""The demo's model co-coder: a judge run on a demo study, driven in this process.

Called by the ``demo`` management command after the stress-test study is coded and
reconciled. Like ``demo.generate_demo_run`` it runs eagerly, in the command's own
process, against an in-process fake model server in judge mode (a few items get one
malformed reply first, so the demo shows a retry), then points the lead's demo
endpoints back at the server of ``make run``.
"""

from __future__ import annotations

from coding.models import Study
from demo.generation import demo_endpoints
from transcripts.judge_cells import judge_drive
from transcripts.judge_services import judge_run_create
from transcripts.models_judge import JudgeRun
from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig

JUDGE_ENDPOINT = "Borealis 70B (fake)"


def judge_demo_run(*, study: Study, lead) -> JudgeRun:
    """Score every item of ``study`` with the lead's fake Borealis endpoint; returns the run."""
    config = FakeServerConfig(
        judge_output="malformed", judge_bad_rate=0.05, judge_bad_attempts=1, seed=11
    )
    with FakeModelServer(config, port=0) as server:
        endpoints = {e.name: e for e in demo_endpoints(lead=lead, port=server.port)}
        run = judge_run_create(
            study=study,
            endpoint=endpoints[JUDGE_ENDPOINT],
            by=lead,
            temperature=0.0,
            max_tokens=1024,
            seed=2605,
            policy={"base_delay": 0.02, "max_delay": 0.2, "lease_seconds": 60},
            dispatch=False,
        )
        judge_drive(run_id=run.pk)
    demo_endpoints(lead=lead)  # back to the long-running server of ``make run``
    run.refresh_from_db()
    return run
