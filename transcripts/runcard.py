"""Run cards: a disclosure of everything needed to reproduce or audit a generation run.

In the spirit of a GRIDcard: code commit (and whether the tree was dirty), package
versions, endpoints (never keys), the full grid, decoding config, seeds, retry policy,
counts and every failure. Rendered as JSON and Markdown.
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from django.db.models import Count, Q, Sum

from .cells import redact
from .models import GenerationRun, Transcript

PACKAGES = ("django", "celery", "kombu", "openai", "anthropic", "httpx2", "djangorestframework")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_run_card(run: GenerationRun) -> dict[str, Any]:
    """The run card as a JSON-ready dict."""
    cells = Transcript.objects.filter(run=run)
    counts = dict(cells.values_list("state").annotate(n=Count("id")).order_by())
    tokens = cells.aggregate(inp=Sum("input_tokens"), out=Sum("output_tokens"))
    per_endpoint = (
        cells.values("endpoint__name")
        .annotate(
            total=Count("id"),
            succeeded=Count("id", filter=Q(state=Transcript.State.SUCCEEDED)),
            failed=Count("id", filter=Q(state=Transcript.State.FAILED)),
        )
        .order_by("endpoint__name")
    )
    served = sorted(
        {
            p.get("served_model")
            for p in cells.filter(state=Transcript.State.SUCCEEDED).values_list(
                "provenance", flat=True
            )
            if p.get("served_model")
        }
    )
    failures = [
        {
            "endpoint": t.endpoint.name,
            "scaffold": t.scaffold.code,
            "prompt": t.prompt.code,
            "replicate": t.replicate,
            "attempts": t.attempts,
            "error": t.last_error,
        }
        for t in cells.filter(state=Transcript.State.FAILED)
        .select_related("endpoint", "scaffold", "prompt")
        .order_by("endpoint__name", "scaffold__code", "prompt__code", "replicate")
    ]
    retried = cells.filter(attempts__gt=1).count()
    return {
        "card": "AlignWeb generation run card",
        "run": {
            "id": run.pk,
            "name": run.name,
            "status": run.status,
            "created_at": run.created_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        },
        "code": {"commit": run.code_commit, "dirty": run.code_dirty},
        "packages": run.package_versions,
        "endpoints": [
            {
                "name": e.name,
                "provider": e.provider,
                "base_url": e.base_url,
                "model": e.model,
                "api_key_env": e.api_key_env or None,
                "default_params": redact(e.default_params),
                "max_concurrency": e.max_concurrency,
                "timeout_seconds": e.timeout_seconds,
            }
            for e in run.endpoints.order_by("name")
        ],
        "grid": {
            "scaffolds": [
                {
                    "code": s.code,
                    "name": s.name,
                    "version": s.version,
                    "sha256": s.sha256,
                    "target_dimensions": s.target_dimensions,
                }
                for s in run.scaffolds.order_by("code")
            ],
            "prompt_set": run.prompt_set.name,
            "prompts": [
                {
                    "code": p.code,
                    "version": p.version,
                    "specification": p.specification,
                    "sha256": p.sha256,
                }
                for p in run.prompts.order_by("code")
            ],
            "replicates": run.replicates,
            "cells": cells.count(),
        },
        "config": redact(run.config),
        "seeds": {
            "run_seed": run.seed,
            "sampling_seed": (run.config or {}).get("seed"),
            "replicate_rule": "replicate r is sampled with seed + r - 1 (when a seed is set)",
        },
        "retry_policy": run.policy,
        "counts": {
            "total": sum(counts.values()),
            **{state: counts.get(state, 0) for state in Transcript.State.values},
            "retried_cells": retried,
        },
        "per_endpoint": list(per_endpoint),
        "tokens": {"input": tokens["inp"] or 0, "output": tokens["out"] or 0},
        "served_models": served,
        "failures": failures,
    }


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def run_card_markdown(card: dict[str, Any]) -> str:
    run, code, grid = card["run"], card["code"], card["grid"]
    dirty = {True: "yes", False: "no", None: "unknown"}[code["dirty"]]
    lines = [
        f"# Run card: {run['name']}",
        "",
        f"- Run id: {run['id']} · status: {run['status']}",
        f"- Created: {run['created_at']} · finished: {run['finished_at'] or '-'}",
        f"- Code commit: `{code['commit']}` (dirty: {dirty})",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in card["packages"].items()),
        "",
        "## Endpoints",
        "",
        *_md_table(
            ["Name", "Provider", "Base URL", "Model", "Key variable", "Concurrency", "Timeout"],
            [
                [
                    e["name"],
                    e["provider"],
                    e["base_url"],
                    e["model"],
                    e["api_key_env"] or "-",
                    e["max_concurrency"],
                    f"{e['timeout_seconds']:g} s",
                ]
                for e in card["endpoints"]
            ],
        ),
        "",
        "## Grid",
        "",
        f"{len(card['endpoints'])} endpoints x {len(grid['scaffolds'])} scaffolds x "
        f"{len(grid['prompts'])} prompts x {grid['replicates']} replicate(s) = "
        f"{grid['cells']} cells. Prompt set: {grid['prompt_set']}.",
        "",
        *_md_table(
            ["Scaffold", "Name", "Version", "Targets", "sha256"],
            [
                [
                    s["code"],
                    s["name"],
                    s["version"],
                    ", ".join(s["target_dimensions"]) or "-",
                    f"`{s['sha256'][:16]}`",
                ]
                for s in grid["scaffolds"]
            ],
        ),
        "",
        *_md_table(
            ["Prompt", "Version", "Specification", "sha256"],
            [
                [p["code"], p["version"], p["specification"], f"`{p['sha256'][:16]}`"]
                for p in grid["prompts"]
            ],
        ),
        "",
        "## Configuration",
        "",
        *[f"- {k}: `{v}`" for k, v in card["config"].items()],
        f"- Run seed: {card['seeds']['run_seed']}; {card['seeds']['replicate_rule']}",
        "- Retry policy: " + ", ".join(f"{k}={v}" for k, v in card["retry_policy"].items()),
        "",
        "## Counts",
        "",
        *[f"- {k}: {v}" for k, v in card["counts"].items()],
        f"- Tokens: {card['tokens']['input']} in, {card['tokens']['output']} out",
        f"- Served model ids: {', '.join(card['served_models']) or '-'}",
        "",
        "## Failures",
        "",
    ]
    if card["failures"]:
        lines += _md_table(
            ["Endpoint", "Scaffold", "Prompt", "Replicate", "Attempts", "Error"],
            [
                [
                    f["endpoint"],
                    f["scaffold"],
                    f["prompt"],
                    f["replicate"],
                    f["attempts"],
                    f["error"],
                ]
                for f in card["failures"]
            ],
        )
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"
