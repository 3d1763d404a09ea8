"""Claim reports: what a study's evidence supports, indexed to its level (JSON + Markdown).

Follows the claim-indexing template of *Deployment-Relevant Alignment Cannot Be Inferred
from Model-Level Evaluation Alone* (arXiv 2605.04454): claim level; model-level evidence;
interactional evidence per D-dimension (measured or not, reconciled means, agreement);
scaffolding S held fixed or varied (with scaffold hashes); deployment context C; scope
of the claim as the (model, scaffold, context) configurations covered; and the run card
of the generation run when the items came from one. Condition data (models, scaffolds,
run ids) is read from the sealed key only after unblinding, and that read is logged.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter, defaultdict
from typing import Any

from django.utils import timezone

from coding import hooks
from coding.models import Study

from . import selectors, services
from .analysis import mean_ci
from .claim_levels import claim_levels_build, levels_markdown, why_not
from .registry import registry_revision
from .stats.anova import natural_key

log = logging.getLogger(__name__)

TEMPLATE = "AlignWeb claim-indexing report v1"
REFERENCE = (
    "Deployment-Relevant Alignment Cannot Be Inferred from Model-Level Evaluation Alone "
    "(arXiv 2605.04454)"
)
LEVELS = ("model", "response", "interaction", "deployment")
UNSPECIFIED = "unspecified"
HASH_KEYS = ("scaffold_sha256", "scaffold_hash")


def _agreement_by_dim(snapshot) -> dict[str, dict[str, Any]]:
    if snapshot is None:
        return {}
    out = {}
    for dim in (snapshot.results or {}).get("dimensions", []):
        out[dim["code"]] = {
            "cohen_kappa": dim.get("cohen_kappa"),
            "cohen_kappa_ci": dim.get("ci", {}).get("cohen_kappa"),
            "krippendorff_alpha_ordinal": dim.get("krippendorff_alpha_ordinal"),
            "krippendorff_alpha_ordinal_ci": dim.get("ci", {}).get("krippendorff_alpha_ordinal"),
            "n_items": dim.get("n_items"),
        }
    return out


def _scaffold_hashes(keys: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Scaffold code -> hashes recorded in key metadata, else from the provenance sources
    (the transcripts app's scaffolds)."""
    hashes: dict[str, set[str]] = defaultdict(set)
    versions: dict[str, set[int]] = defaultdict(set)
    for row in keys:
        meta = row.get("metadata") or {}
        for name in HASH_KEYS:
            if meta.get(name):
                hashes[row["scaffold"]].add(str(meta[name]))
        if meta.get("scaffold_version") not in (None, ""):
            with contextlib.suppress(TypeError, ValueError):
                versions[row["scaffold"]].add(int(meta["scaffold_version"]))
    missing = {code: v for code, v in versions.items() if code and not hashes.get(code)}
    for source in hooks.provenance_sources() if missing else []:
        for code, vers in missing.items():
            hashes[code] |= source.scaffold_hashes(code, vers)
    return hashes


def _run_cards(study: Study, keys: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Run cards of the generation runs behind the items (from the provenance sources)."""
    run_ids = {
        (row.get("metadata") or {}).get("run_id")
        for row in keys or []
        if (row.get("metadata") or {}).get("run_id") not in (None, "")
    }
    ids: set[int] = set()
    for value in run_ids:
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            continue
    return [card for source in hooks.provenance_sources() for card in source.run_cards(study, ids)]


def claim_report_build(*, study: Study, by) -> dict[str, Any]:
    """The claim report as a JSON-ready dict (see the module docstring)."""
    dims = selectors.dimension_list(study=study)
    kinds = selectors.item_kind_counts(study=study)
    documents_only = bool(kinds) and set(kinds) == {"document"}
    unblinded = study.status == Study.Status.UNBLINDED
    snapshot = services.snapshot_current(study=study, by=by).snapshot
    agreement = _agreement_by_dim(snapshot)
    reconciled = selectors.reconciled_values(study=study)
    keys = (
        services.key_metadata_read(study=study, by=by, purpose="claim report")
        if unblinded
        else None
    )
    key_by_code = {row["public_code"]: row for row in keys or []}

    per_dim: dict[str, list[int]] = defaultdict(list)
    per_config: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for row in reconciled:
        per_dim[row["dimension"]].append(row["value"])
        key = key_by_code.get(row["code"])
        if key is not None:
            per_config[(row["dimension"], key["model"], key["scaffold"])].append(row["value"])

    evidence = []
    for d in dims:
        values = per_dim.get(d.code, [])
        summary = mean_ci(values)
        entry: dict[str, Any] = {
            "dimension": d.code,
            "name": d.name,
            "measured": bool(values),
            "n_items": len(values),
            "mean": summary["mean"],
            "ci95_t": [summary["lo"], summary["hi"]] if summary["lo"] is not None else None,
            "distribution": {str(k): v for k, v in sorted(Counter(values).items())},
            "agreement": agreement.get(d.code),
        }
        if unblinded:
            entry["by_configuration"] = [
                {"model": m, "scaffold": s, "mean": sum(v) / len(v), "n": len(v)}
                for (code, m, s), v in sorted(
                    per_config.items(),
                    key=lambda kv: (natural_key(kv[0][1]), natural_key(kv[0][2])),
                )
                if code == d.code
            ]
        evidence.append(entry)

    context = (study.deployment_context or "").strip()
    if keys is None:
        scaffolding: dict[str, Any] = {
            "status": "sealed until unblinding" if not documents_only else "not applicable",
            "scaffolds": None,
        }
        scope = {"configurations": None, "note": "Conditions are sealed until unblinding."}
    else:
        counts = Counter(row["scaffold"] for row in keys if row["scaffold"])
        hashes = _scaffold_hashes(keys)
        status = {0: "not recorded", 1: "held fixed"}.get(len(counts), "varied")
        scaffolding = {
            "status": status,
            "scaffolds": [
                {"code": code, "n_items": n, "sha256": sorted(hashes.get(code, set())) or None}
                for code, n in sorted(counts.items(), key=lambda kv: natural_key(kv[0]))
            ],
        }
        configs = Counter((row["model"], row["scaffold"]) for row in keys)
        scope = {
            "configurations": [
                {
                    "model": m or None,
                    "scaffold": s or None,
                    "context": context or UNSPECIFIED,
                    "n_items": n,
                }
                for (m, s), n in sorted(
                    configs.items(), key=lambda kv: (natural_key(kv[0][0]), natural_key(kv[0][1]))
                )
            ],
            "note": "The evidence covers these configurations only.",
        }

    statement = selectors.claim_statement_get(study=study)
    measured = any(e["measured"] for e in evidence)
    # The supported level follows stated rules with thresholds (audit/claim_levels.py).
    levels = claim_levels_build(
        study=study,
        evidence=evidence,
        statement=statement,
        context=context,
        scaffolding=scaffolding,
        keys=keys,
        reconciled=reconciled,
        documents_only=documents_only,
        agreement_computed=snapshot is not None,
    )
    supported, because = levels["supported"], levels["because"]
    claimed = (statement.claim_level if statement else "") or None
    warnings = []
    by_level = {lv["level"]: lv for lv in levels["levels"]}
    if claimed in by_level and not by_level[claimed]["supported"]:
        reach = "no claim" if supported is None else f"at most the {supported} level"
        why = why_not(levels, claimed)
        warnings.append(
            f"The claim is stated at the {claimed} level, but this evidence does not support "
            f"it; it supports {reach}. {why}"
        )
    unsupported = [
        f"{d['code']} ({d['reason']})"
        for d in levels["dimensions_excluded"]
        if d["code"] in per_dim  # unmeasured ones get their own warning below
    ]
    if levels["dimensions_supported"] and unsupported:
        warnings.append(
            "Outside what the coding supports: "
            + "; ".join(unsupported)
            + ". Say nothing about them at any level."
        )
    not_measured = [e["dimension"] for e in evidence if not e["measured"]]
    if not_measured and measured:
        warnings.append("Not measured: " + ", ".join(not_measured) + ". Say nothing about them.")

    audited = []
    if kinds.get("document"):
        items = selectors.document_items(study=study)
        registry = selectors.benchmarks_for_items(external_ids=[i["external_id"] for i in items])
        audited = [
            _benchmark_dict(registry[i["external_id"]])
            if i["external_id"] in registry
            else {"name": i["title"]}
            for i in items
        ]
    return {
        "template": TEMPLATE,
        "reference": REFERENCE,
        "generated_at": timezone.now().isoformat(),
        "study": {
            "id": study.pk,
            "name": study.name,
            "status": study.status,
            "rubric": str(study.rubric),
            "item_kinds": kinds,
            "coders_per_item": study.coders_per_item,
        },
        "claim": {
            "statement": (statement.claim if statement else "") or None,
            "level_claimed": claimed,
            "level_supported": supported,
            "supported_because": because,
            "levels": levels,
            "warnings": warnings,
        },
        "model_level_evidence": {
            "notes": (statement.model_evidence if statement else "") or None,
            "benchmarks": [_benchmark_dict(b) for b in statement.benchmarks.all()]
            if statement
            else [],
            "audited_benchmarks": audited,
        },
        # Registry entries change (versioned): say which revision these facts come from.
        "benchmark_registry": {"revision": registry_revision()},
        "interactional_evidence": evidence,
        "scaffolding": scaffolding,
        "deployment_context": {"C": context or UNSPECIFIED, "specified": bool(context)},
        "scope": scope,
        "agreement_snapshot": (
            {"at": snapshot.at.isoformat(), "n_submitted": snapshot.n_submitted}
            if snapshot
            else None
        ),
        # Run cards name models, endpoints and scaffold hashes: condition data. They come
        # only with the key, read through the door (``key_metadata_read``) after unblinding.
        "run_cards": _run_cards(study, keys) if keys is not None else [],
    }


def _benchmark_dict(b) -> dict[str, Any]:
    return {
        "name": b.name,
        "year": b.year,
        "citation": b.citation or None,
        "citation_verified": b.citation_verified,
        "url": b.url or None,
        "claim_level": b.claim_level or None,
        "registry_version": b.version,
    }


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{round(value, digits) + 0.0:.{digits}f}"  # + 0.0 turns -0.0 into 0.0


def _md_row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _run_card_markdown(card: dict[str, Any]) -> str:
    for source in hooks.provenance_sources():
        try:
            return source.run_card_markdown(card)
        except Exception:  # noqa: BLE001 - fall back to the JSON in the JSON report
            log.warning("run card markdown failed", exc_info=True)
    return ""


def claim_report_markdown(report: dict[str, Any]) -> str:
    """The claim report as Markdown, section by section in template order."""
    study, claim = report["study"], report["claim"]
    lines = [
        f"# Claim report: {study['name']}",
        "",
        f"_{report['template']}, after {report['reference']}. Generated {report['generated_at']}._",
        "",
        f"- Study {study['id']} · status {study['status']} · rubric {study['rubric']} · "
        f"k = {study['coders_per_item']} coders per item",
        "",
        "## 1. Claim and claim level",
        "",
        f"- Claim: {claim['statement'] or '(not stated)'}",
        f"- Level claimed: {claim['level_claimed'] or '(not stated)'}",
        f"- Level the evidence supports: {claim['level_supported'] or 'none'} "
        f"({claim['supported_because']})",
    ]
    lines += [f"- **Warning:** {w}" for w in claim["warnings"]]
    lines += levels_markdown(claim["levels"])
    mle = report["model_level_evidence"]
    lines += ["", "## 2. Model-level evidence", ""]
    lines.append(f"- Notes: {mle['notes'] or '(none cited)'}")
    for b in mle["benchmarks"]:
        lines.append(
            f"- {b['name']} ({b['year'] or 'n.d.'}; "
            f"claim level {b['claim_level'] or 'unclassified'}; registry v{b['registry_version']})"
            + (f": {b['citation']}" if b["citation"] else "")
            + ("" if b["citation_verified"] else " **(citation unverified)**")
        )
    if mle["audited_benchmarks"]:
        lines.append(
            "- Benchmarks audited in this study: "
            + ", ".join(
                b["name"] + ("" if b.get("citation_verified", True) else " (citation unverified)")
                for b in mle["audited_benchmarks"]
            )
        )
    lines.append(
        f"- Benchmark facts from registry revision {report['benchmark_registry']['revision']}."
    )
    lines += [
        "",
        "## 3. Interactional evidence per dimension",
        "",
        _md_row(
            ["Dimension", "Measured", "n", "Mean (95% t-CI)", "Cohen's kappa", "Alpha (ordinal)"]
        ),
        _md_row(["---"] * 6),
    ]
    for e in report["interactional_evidence"]:
        ci = e["ci95_t"]
        mean = _num(e["mean"]) + (f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else "")
        agr = e["agreement"] or {}
        lines.append(
            _md_row(
                [
                    f"{e['dimension']} {e['name']}",
                    "measured" if e["measured"] else "not measured",
                    e["n_items"],
                    mean if e["measured"] else "-",
                    _num(agr.get("cohen_kappa")),
                    _num(agr.get("krippendorff_alpha_ordinal")),
                ]
            )
        )
    scaff = report["scaffolding"]
    lines += ["", "## 4. Scaffolding S", "", f"- S is {scaff['status']}."]
    for s in scaff["scaffolds"] or []:
        hashes = ", ".join(f"`{h}`" for h in s["sha256"] or []) or "hash not recorded"
        lines.append(f"- {s['code']}: {s['n_items']} items; sha256 {hashes}")
    ctx = report["deployment_context"]
    lines += ["", "## 5. Deployment context C", "", f"- C: {ctx['C']}"]
    scope = report["scope"]
    lines += ["", "## 6. Scope (M, S, C)", ""]
    if scope["configurations"] is None:
        lines.append(f"- {scope['note']}")
    else:
        lines += [_md_row(["Model M", "Scaffold S", "Context C", "Items"]), _md_row(["---"] * 4)]
        lines += [
            _md_row([c["model"] or "-", c["scaffold"] or "-", c["context"], c["n_items"]])
            for c in scope["configurations"]
        ]
        lines.append("")
        lines.append(scope["note"])
    snap = report["agreement_snapshot"]
    if snap:
        lines += [
            "",
            f"_Agreement from the snapshot of {snap['at']} ({snap['n_submitted']} submissions)._",
        ]
    for card in report["run_cards"]:
        text = _run_card_markdown(card)
        if text:
            # Nest the run card's headings under this report's section.
            nested = "\n".join(
                f"##{line}" if line.startswith("#") else line for line in text.splitlines()
            )
            lines += ["", "## Generation run card", "", nested]
    return "\n".join(lines) + "\n"
