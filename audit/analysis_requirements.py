"""Which analyses a study can run, and for the others which field is missing and how to add it.

The checks use ``coding.selectors.keys.condition_coverage``: counts of transcripts whose
sealed key fills each field, never the values, so they work (unlogged) before unblinding.
An analysis is *offered* when the study has what it needs, and *open* once the study is
unblinded too (the condition-based pages read the key itself, logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coding.models import Study
from coding.selectors.keys import condition_coverage


@dataclass
class Need:
    """One requirement: what it is, how many items meet it, and how to fix it if unmet."""

    text: str
    have: int
    of: int
    met: bool
    how: str = ""


@dataclass
class Availability:
    key: str
    name: str
    url_name: str
    offered: bool  # the study has what the analysis needs
    unblinded: bool  # the analysis may read the conditions now
    needs: list[Need] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.offered and self.unblinded

    @property
    def missing(self) -> list[Need]:
        return [n for n in self.needs if not n.met]


def _how(study: Study, column: str, values: str) -> str:
    """How to add a condition field, given where the study is in its life."""
    if study.status == Study.Status.DRAFT:
        return (
            f"Add a {column} column ({values}) to the import file, or upload a condition key "
            "with it on the Import page (possible while the study is a draft)."
        )
    return (
        f"This study's key is fixed since it opened; a study that needs {column} must have it "
        f"in its import file ({values}) or in a condition key uploaded before opening."
    )


def _field_need(study: Study, cov: dict[str, int], name: str, key: str, values: str) -> Need:
    have, of = cov[key], cov["transcripts"]
    label = "specification full or under" if name == "specification" else name
    return Need(f"{label} in the condition key", have, of, have > 0, _how(study, name, values))


def analyses_available(
    *, study: Study, coverage: dict[str, int] | None = None
) -> dict[str, Availability]:
    """Availability of the condition-based and document analyses of one study."""
    cov = coverage if coverage is not None else condition_coverage(study=study)
    unblinded = study.status == Study.Status.UNBLINDED
    transcripts = Need(
        "transcripts (coded conversations)",
        cov["transcripts"],
        cov["items"],
        cov["transcripts"] > 0,
        "Import transcripts (JSONL or CSV with messages).",
    )
    model = _field_need(study, cov, "model", "model", "the model's name")
    scaffold = _field_need(study, cov, "scaffold", "scaffold", "e.g. C1-C4")
    spec = _field_need(study, cov, "specification", "specification_valid", "full or under")
    efficacy_needs = [transcripts, model, scaffold, spec]
    together = Need(
        "model, scaffold and specification on the same transcripts",
        cov["complete"],
        cov["transcripts"],
        cov["complete"] > 0,
        "Fill all three fields for the same transcripts.",
    )
    if all(n.met for n in efficacy_needs):
        efficacy_needs.append(together)
    profile_needs = [transcripts, model, scaffold]
    documents = Need(
        "benchmark documents",
        cov["documents"],
        cov["items"],
        cov["documents"] > 0,
        "Create a benchmark audit from the registry.",
    )
    return {
        "scaffold_efficacy": Availability(
            "scaffold_efficacy",
            "Scaffold efficacy",
            "audit:scaffold-efficacy",
            all(n.met for n in efficacy_needs),
            unblinded,
            efficacy_needs,
        ),
        "alignment_profiles": Availability(
            "alignment_profiles",
            "Alignment profiles",
            "audit:alignment-profiles",
            all(n.met for n in profile_needs) and cov["model_scaffold"] > 0,
            unblinded,
            profile_needs,
        ),
        # The audit matrix reads reconciled values only: no unblinding needed.
        "audit_matrix": Availability(
            "audit_matrix", "Audit matrix", "audit:audit-matrix", documents.met, True, [documents]
        ),
    }
