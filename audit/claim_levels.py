"""Which claim level a study's evidence supports, from stated rules with stated thresholds.

The levels come from *Deployment-Relevant Alignment Cannot Be Inferred from Model-Level
Evaluation Alone* (arXiv 2605.04454): a claim is indexed to the level of its evidence,
model < response < interaction < deployment. The paper names the levels; the rules below
are AlignWeb's reading of what evidence each needs, and the page prints them with their
thresholds so a reader can disagree with a number instead of trusting a label:

- model: model-level evaluation is cited (benchmark results or notes). Human coding is
  not model-level evidence, and model-level evidence is not behaviour in use.
- response: human-coded model transcripts, enough reconciled items per dimension, and
  first-pass agreement good enough to trust the coding, per dimension. The level holds
  only for the dimensions that pass both; the others are named so the claim leaves them out.
- interaction: response, plus the transcripts are conversations (several user turns, so
  clarification and repair can show) and every coded transcript's condition (model,
  scaffold) is known: behaviour across an exchange, under recorded conditions.
- deployment: interaction, plus a stated deployment context C, identified scaffolding
  (each scaffold's text hash), and enough items in every model x scaffold configuration.

Each level's rules include the level below (except model, which is separate evidence), so
the supported level is the highest one whose rules all hold. ``evaluate_levels`` is pure;
``claim_levels_build`` gathers the facts for a study.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("model", "response", "interaction", "deployment")
# At least this many reconciled items on a dimension before its agreement or mean means much
# (the same floor the agreement pages use for a coder pair's interval).
MIN_ITEMS = 10
# Cohen's kappa of the first pass, per dimension: 0.61-0.80 is "substantial" agreement in
# Landis & Koch (1977, Biometrics 33:159); McHugh (2012, Biochem Med 22:276) treats
# kappa below 0.60 as inadequate for research data. The point estimate is compared.
MIN_KAPPA = 0.60
# A transcript is a conversation from two user turns on; at least half must be.
MULTI_TURN_USER_TURNS = 2
MIN_MULTI_TURN_SHARE = 0.5
# Reconciled transcripts per model x scaffold: the stress test of arXiv 2605.04454 compared
# scaffolds with n = 12 per scaffold per model.
MIN_PER_CONFIGURATION = 12


@dataclass
class DimensionFacts:
    code: str
    n_reconciled: int
    kappa: float | None  # first-pass Cohen's kappa; None when undefined or not computed


@dataclass
class LevelFacts:
    """Everything the rules look at, as plain values."""

    documents_only: bool
    model_sources: int
    dimensions: list[DimensionFacts]
    agreement_computed: bool
    coded_transcripts: int
    multi_turn: int
    conditions_readable: bool  # the study is unblinded
    keyed_transcripts: int  # coded transcripts whose key names a model and a scaffold
    context_stated: bool
    scaffolds: list[tuple[str, bool]] = field(default_factory=list)  # (code, hash recorded)
    configurations: list[tuple[str, str, int]] = field(default_factory=list)  # model, S, n


def _rule(text: str, threshold: str, observed: str, met: bool) -> dict[str, Any]:
    return {"rule": text, "threshold": threshold, "observed": observed, "met": bool(met)}


def _num(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def _dimension_verdicts(facts: LevelFacts) -> tuple[list[str], list[dict[str, str]]]:
    """(dimensions the coding supports, [{code, reason}] for the others)."""
    reliable, other = [], []
    for d in facts.dimensions:
        if d.n_reconciled < MIN_ITEMS:
            reason = f"{d.n_reconciled} reconciled items (needs {MIN_ITEMS})"
        elif not facts.agreement_computed:
            reason = "agreement not computed yet"
        elif d.kappa is None:
            reason = "Cohen's κ undefined (no variation to agree on)"
        elif d.kappa < MIN_KAPPA:
            reason = f"Cohen's κ {_num(d.kappa)} (needs ≥ {MIN_KAPPA:.2f})"
        else:
            reliable.append(d.code)
            continue
        other.append({"code": d.code, "reason": reason})
    return reliable, other


def _model_rules(facts: LevelFacts) -> list[dict[str, Any]]:
    n = facts.model_sources
    return [
        _rule(
            "Model-level evaluation is cited (benchmark results or notes on the claim)",
            "at least 1 source",
            f"{n} source{'s' if n != 1 else ''}",
            n >= 1,
        )
    ]


def _response_rules(facts: LevelFacts, reliable: list[str]) -> list[dict[str, Any]]:
    enough = [d for d in facts.dimensions if d.n_reconciled >= MIN_ITEMS]
    kappas = [(d.kappa, d.code) for d in enough if d.kappa is not None]
    lowest = min(kappas) if kappas else None
    if not facts.agreement_computed:
        agreement = "agreement not computed yet (open the Agreement dashboard)"
    else:
        agreement = f"{len(reliable)} of {len(facts.dimensions)} dimensions" + (
            f"; lowest κ {_num(lowest[0])} ({lowest[1]})" if lowest else ""
        )
    n = facts.coded_transcripts
    return [
        _rule(
            "The coded items are model transcripts, not benchmark documents",
            "at least 1 reconciled transcript",
            "benchmark documents only" if facts.documents_only else f"{n} reconciled",
            n >= 1 and not facts.documents_only,
        ),
        _rule(
            "Enough reconciled items on a dimension",
            f"at least {MIN_ITEMS} items per dimension",
            f"{len(enough)} of {len(facts.dimensions)} dimensions",
            bool(enough),
        ),
        _rule(
            "First-pass coders agree on a dimension (Cohen's κ, point estimate)",
            f"κ ≥ {MIN_KAPPA:.2f} on the dimension (Landis & Koch 1977; McHugh 2012)",
            agreement,
            bool(reliable),
        ),
    ]


def _interaction_rules(facts: LevelFacts) -> list[dict[str, Any]]:
    n, multi = facts.coded_transcripts, facts.multi_turn
    share = multi / n if n else 0.0
    if not facts.conditions_readable:
        known = "sealed until unblinding"
    else:
        known = f"{facts.keyed_transcripts} of {n} transcripts"
    return [
        _rule(
            "The transcripts are conversations",
            f"at least {MIN_MULTI_TURN_SHARE:.0%} of coded transcripts with "
            f"{MULTI_TURN_USER_TURNS} or more user turns",
            f"{multi} of {n} ({share:.0%})",
            n > 0 and share >= MIN_MULTI_TURN_SHARE,
        ),
        _rule(
            "Each coded transcript's condition is known",
            "the study unblinded, and every coded transcript's key naming a model and a scaffold",
            known,
            facts.conditions_readable and n > 0 and facts.keyed_transcripts == n,
        ),
    ]


def _deployment_rules(facts: LevelFacts) -> list[dict[str, Any]]:
    hashed = sum(1 for _code, has_hash in facts.scaffolds if has_hash)
    if not facts.conditions_readable:
        scaffolds = smallest = "sealed until unblinding"
    else:
        scaffolds = f"{hashed} of {len(facts.scaffolds)} scaffolds"
        low = min(facts.configurations, key=lambda c: c[2], default=None)
        smallest = (
            f"smallest: {low[2]} ({low[0] or '—'} × {low[1] or '—'}) of "
            f"{len(facts.configurations)} configurations"
            if low
            else "no configurations"
        )
    return [
        _rule(
            "Deployment context C is stated",
            "a deployment context entered on this page",
            "stated" if facts.context_stated else "unspecified",
            facts.context_stated,
        ),
        _rule(
            "The scaffolding is identified",
            "every scaffold's text hash (sha256) recorded in the key",
            scaffolds,
            facts.conditions_readable and bool(facts.scaffolds) and hashed == len(facts.scaffolds),
        ),
        _rule(
            "Enough transcripts in every model × scaffold configuration",
            f"at least {MIN_PER_CONFIGURATION} reconciled transcripts in each "
            "(the stress test of arXiv 2605.04454 had 12 per scaffold per model)",
            smallest,
            facts.conditions_readable
            and bool(facts.configurations)
            and min(c[2] for c in facts.configurations) >= MIN_PER_CONFIGURATION,
        ),
    ]


def _explain(level: str, rules: list[dict[str, Any]], below: str | None, below_ok: bool) -> str:
    """One sentence per unmet rule: what it needs and what this study has."""
    failed = [
        f"{r['rule']}: needs {r['threshold']}; here {r['observed']}." for r in rules if not r["met"]
    ]
    if below and not below_ok:
        failed.insert(0, f"The {below} level is not supported.")
    if not failed:
        return f"Supported: every rule of the {level} level holds."
    return "Not supported. " + " ".join(failed)


def evaluate_levels(facts: LevelFacts) -> dict[str, Any]:
    """Every level with its rules, verdict and explanation, and the highest supported one."""
    reliable, other = _dimension_verdicts(facts)
    chain = [
        ("model", _model_rules(facts), None),
        ("response", _response_rules(facts, reliable), None),
        ("interaction", _interaction_rules(facts), "response"),
        ("deployment", _deployment_rules(facts), "interaction"),
    ]
    levels: list[dict[str, Any]] = []
    ok: dict[str, bool] = {}
    for level, rules, below in chain:
        below_ok = ok.get(below, True) if below else True
        ok[level] = below_ok and all(r["met"] for r in rules)
        if below:
            rules = [
                _rule(
                    f"The {below} level is supported",
                    f"every {below}-level rule",
                    "yes" if below_ok else "no",
                    below_ok,
                ),
                *rules,
            ]
        levels.append(
            {
                "level": level,
                "supported": ok[level],
                "rules": rules,
                "explanation": _explain(level, rules[1:] if below else rules, below, below_ok),
            }
        )
    supported = next((lv for lv in reversed(LEVELS) if ok[lv]), None)
    return {
        "levels": levels,
        "supported": supported,
        "because": _because(supported, reliable, other, levels),
        "dimensions_supported": reliable if ok["response"] else [],
        "dimensions_excluded": other,
        "thresholds": {
            "min_items_per_dimension": MIN_ITEMS,
            "min_cohen_kappa": MIN_KAPPA,
            "multi_turn_user_turns": MULTI_TURN_USER_TURNS,
            "min_multi_turn_share": MIN_MULTI_TURN_SHARE,
            "min_items_per_configuration": MIN_PER_CONFIGURATION,
        },
    }


def _because(
    supported: str | None,
    reliable: list[str],
    other: list[dict[str, str]],
    levels: list[dict[str, Any]],
) -> str:
    if supported is None:
        response = next(lv for lv in levels if lv["level"] == "response")
        reasons = response["explanation"].removeprefix("Not supported. ")
        return f"No level's rules hold: the study supports no claim yet. Response level: {reasons}"
    text = f"Every rule of the {supported} level holds"
    if supported != "model" and other:
        text += f", for {', '.join(reliable)} only"
    text += "."
    above = [lv for lv in levels if LEVELS.index(lv["level"]) > LEVELS.index(supported)]
    if above:
        reasons = above[0]["explanation"].removeprefix("Not supported. ")
        text += f" Not the {above[0]['level']} level: {reasons}"
    return text


def _configurations(
    reconciled: Sequence[Mapping[str, Any]], key_by_code: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str, int]]:
    items: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in reconciled:
        key = key_by_code.get(row["code"])
        if key is not None and (key.get("model") or key.get("scaffold")):
            items[(key.get("model") or "", key.get("scaffold") or "")].add(row["code"])
    return sorted((m, s, len(codes)) for (m, s), codes in items.items())


def claim_levels_build(
    *,
    study,
    evidence: Sequence[Mapping[str, Any]],
    statement,
    context: str,
    scaffolding: Mapping[str, Any],
    keys: Sequence[Mapping[str, Any]] | None,
    reconciled: Sequence[Mapping[str, Any]],
    documents_only: bool,
    agreement_computed: bool,
) -> dict[str, Any]:
    """Gather one study's facts (see claims.claim_report_build) and evaluate the levels."""
    from .selectors_claims import coded_transcript_turns

    turns = coded_transcript_turns(study=study, multi_turn=MULTI_TURN_USER_TURNS)
    key_by_code = {row["public_code"]: row for row in keys or []}
    coded_codes = {row["code"] for row in reconciled}
    keyed = sum(
        1
        for code in coded_codes
        if (k := key_by_code.get(code)) is not None and k.get("model") and k.get("scaffold")
    )
    sources = 0
    if statement is not None:
        sources = statement.benchmarks.count() + bool((statement.model_evidence or "").strip())
    facts = LevelFacts(
        documents_only=documents_only,
        model_sources=sources,
        dimensions=[
            DimensionFacts(
                e["dimension"], e["n_items"], (e.get("agreement") or {}).get("cohen_kappa")
            )
            for e in evidence
        ],
        agreement_computed=agreement_computed,
        coded_transcripts=turns["coded"],
        multi_turn=turns["multi_turn"],
        conditions_readable=keys is not None,
        keyed_transcripts=min(keyed, turns["coded"]),
        context_stated=bool(context.strip()),
        scaffolds=[(s["code"], bool(s.get("sha256"))) for s in scaffolding.get("scaffolds") or []],
        configurations=_configurations(reconciled, key_by_code) if keys is not None else [],
    )
    return evaluate_levels(facts)


def why_not(levels: Mapping[str, Any], level: str) -> str:
    """Why ``level`` is not supported, from the lowest level of its chain that fails (a
    deployment claim on unreliable coding is refused for the coding, not for the context)."""
    by_level = {lv["level"]: lv for lv in levels["levels"]}
    chain = [level] if level == "model" else list(LEVELS[1 : LEVELS.index(level) + 1])
    first = next((by_level[lv] for lv in chain if not by_level[lv]["supported"]), None)
    if first is None:
        return ""
    return f"{first['level'].capitalize()} level: " + first["explanation"].removeprefix(
        "Not supported. "
    )


def levels_markdown(levels: Mapping[str, Any]) -> list[str]:
    """The level rules as Markdown lines (section 1 of the claim report)."""
    lines = ["", "### Levels and the rules they need", ""]
    for lv in levels["levels"]:
        verdict = "supported" if lv["supported"] else "not supported"
        lines.append(f"- **{lv['level']}**: {verdict}. {lv['explanation']}")
        for r in lv["rules"]:
            mark = "x" if r["met"] else " "
            lines.append(f"  - [{mark}] {r['rule']} (needs {r['threshold']}; {r['observed']})")
    excluded = levels["dimensions_excluded"]
    if excluded:
        lines.append(
            "- Dimensions the evidence does not cover: "
            + "; ".join(f"{d['code']}: {d['reason']}" for d in excluded)
        )
    return lines
