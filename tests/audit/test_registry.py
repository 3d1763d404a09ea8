"""The shared benchmark registry: sixteen audited entries, unverified ones marked, built-in
entries read-only (copy or propose), every edit a version with who and when, and the
registry revision stated by claim reports and audit matrices.

Found on main: any lead could edit the built-in entries other leads' matrices and reports
use (year, claim level, URL), and one of the sixteen audited benchmarks was missing.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from audit.claims import claim_report_build, claim_report_markdown
from audit.models import Benchmark, BenchmarkProposal, BenchmarkVersion
from audit.registry import (
    benchmark_create,
    benchmark_propose,
    benchmark_update,
    proposal_decide,
    registry_revision,
)
from audit.services import benchmark_audit_study_create
from coding.services import Conflict, ServiceError
from tests.factories import make_admin

UNVERIFIED = {"Common Ground", "Audited benchmark 16 (unidentified)"}


def test_all_sixteen_audited_benchmarks_with_unverified_ones_marked(personas, client):
    builtin = Benchmark.objects.filter(builtin=True)
    assert builtin.count() == 16
    assert set(builtin.filter(citation_verified=False).values_list("name", flat=True)) == (
        UNVERIFIED
    )
    assert all(b.citation for b in builtin.filter(citation_verified=True))
    assert BenchmarkVersion.objects.filter(benchmark__builtin=True, version=1).count() == 16
    assert registry_revision() == BenchmarkVersion.objects.count() >= 16
    client.force_login(personas.lead)
    html = client.get(reverse("audit:benchmark-list")).content.decode()
    rows = html[html.index('id="benchmark-table"') :]
    assert rows.count("<tr>") == 17  # header + 16 entries
    assert rows.count('title="The citation has not been checked against its source"') == 2
    assert f"Registry revision {registry_revision()}" in html


def test_built_in_entries_are_read_only(personas, client):
    truthful = Benchmark.objects.get(name="TruthfulQA")
    with pytest.raises(ServiceError, match="built-in"):
        benchmark_update(benchmark=truthful, by=personas.lead, claim_level="deployment")
    client.force_login(personas.lead)
    edit = reverse("audit:benchmark-edit", args=[truthful.pk])
    assert client.get(edit)["Location"] == reverse("audit:benchmark-detail", args=[truthful.pk])
    response = client.post(edit, {"name": "TruthfulQA", "year": 1999, "claim_level": "deployment"})
    assert response.status_code == 302
    truthful.refresh_from_db()
    assert (truthful.year, truthful.claim_level, truthful.version) == (2022, "", 1)
    admin = make_admin()
    with pytest.raises(ServiceError, match="built-in"):  # staff too: only via a proposal
        benchmark_update(benchmark=truthful, by=admin, year=1999)


def test_a_lead_copies_a_built_in_entry_into_their_own(personas, client):
    truthful = Benchmark.objects.get(name="TruthfulQA")
    before = registry_revision()
    client.force_login(personas.lead)
    response = client.post(reverse("audit:benchmark-copy", args=[truthful.pk]), {"name": ""})
    copy = Benchmark.objects.get(name="TruthfulQA (lead)")
    assert response["Location"] == reverse("audit:benchmark-detail", args=[copy.pk])
    assert copy.copied_from == truthful and copy.created_by == personas.lead
    assert not copy.builtin and copy.citation == truthful.citation
    assert registry_revision() == before + 1
    edited = benchmark_update(benchmark=copy, by=personas.lead, claim_level="model")
    assert edited.version == 2 and Benchmark.objects.get(pk=truthful.pk).claim_level == ""
    history = list(copy.versions.order_by("version"))
    assert [v.note for v in history] == ["copied from TruthfulQA v1", "edited"]
    assert history[1].changed == ["claim_level"] and history[1].edited_by == personas.lead
    # Another lead may not rewrite it either.
    with pytest.raises(ServiceError, match="another lead"):
        benchmark_update(benchmark=copy, by=personas.other_lead, claim_level="deployment")


def test_a_proposal_becomes_a_version_only_when_staff_accept_it(personas, client):
    rifts = Benchmark.objects.get(name="Rifts")
    client.force_login(personas.lead)
    url = reverse("audit:benchmark-propose", args=[rifts.pk])
    form = client.get(url).content.decode()
    assert "Send proposal" in form and "Navigating Rifts" in form
    missing_note = client.post(url, {"name": "Rifts", "year": 2025, "claim_level": "interaction"})
    assert missing_note.status_code == 400
    data = {
        "name": "Rifts",
        "year": 2025,
        "claim_level": "interaction",
        "citation": rifts.citation,
        "url": rifts.url,
        "citation_verified": "on",
        "description": rifts.description,
        "note": "Multi-turn grounding tasks: interaction level (Table 2 of the paper).",
    }
    assert client.post(url, data).status_code == 302
    proposal = BenchmarkProposal.objects.get(benchmark=rifts)
    assert proposal.fields == {"claim_level": "interaction"} and proposal.status == "pending"
    rifts.refresh_from_db()
    assert rifts.claim_level == "" and rifts.version == 1
    decide = reverse("audit:proposal-decide", args=[proposal.pk])
    client.post(decide, {"decision": "accept"})  # the lead may not decide a built-in entry
    assert BenchmarkProposal.objects.get(pk=proposal.pk).status == "pending"
    admin = make_admin()
    client.force_login(admin)
    client.post(decide, {"decision": "accept", "note": "checked against the paper"})
    proposal.refresh_from_db()
    rifts.refresh_from_db()
    assert proposal.status == "accepted" and proposal.decided_by == admin
    assert (rifts.claim_level, rifts.version) == ("interaction", 2)
    latest = rifts.versions.order_by("-version").first()
    assert latest.edited_by == admin and latest.changed == ["claim_level"]
    assert latest.note == f"proposal {proposal.pk} by lead accepted"
    with pytest.raises(Conflict, match="already decided"):
        proposal_decide(proposal=proposal, by=admin, accept=False)
    page = client.get(reverse("audit:benchmark-detail", args=[rifts.pk])).content.decode()
    assert 'id="history"' in page and "r" + str(latest.revision) in page


def test_a_stale_proposal_is_not_applied(personas):
    mine = benchmark_create(by=personas.lead, name="HarmBench", description="Prompts.")
    stale = benchmark_propose(benchmark=mine, by=personas.other_lead, note="src", year=2024)
    benchmark_update(benchmark=mine, by=personas.lead, notes="changed meanwhile")
    stale.refresh_from_db()
    with pytest.raises(Conflict, match="changed since"):
        proposal_decide(proposal=stale, by=personas.lead, accept=True)  # the creator decides
    assert BenchmarkProposal.objects.get(pk=stale.pk).status == "pending"
    assert Benchmark.objects.get(pk=mine.pk).year is None
    with pytest.raises(ServiceError, match="changes nothing"):
        benchmark_propose(benchmark=mine, by=personas.other_lead, note="src", name="HarmBench")


def test_reports_and_matrices_state_the_registry_version(personas, client):
    names = ["IFEval", "Common Ground", "Rifts"]
    Benchmark.objects.filter(name="Common Ground").update(description="A puzzle task.")
    study = benchmark_audit_study_create(
        name="Audit", benchmarks=list(Benchmark.objects.filter(name__in=names)), by=personas.lead
    )
    revision = registry_revision()
    report = claim_report_build(study=study, by=personas.lead)
    assert report["benchmark_registry"] == {"revision": revision}
    audited = {b["name"]: b for b in report["model_level_evidence"]["audited_benchmarks"]}
    assert audited["Common Ground"]["citation_verified"] is False
    assert audited["IFEval"]["registry_version"] == 1 and audited["IFEval"]["citation_verified"]
    text = claim_report_markdown(report)
    assert f"registry revision {revision}" in text and "Common Ground (citation unverified)" in text
    client.force_login(personas.lead)
    page = client.get(reverse("audit:claim-report", args=[study.pk])).content.decode()
    assert f"registry revision {revision}" in page
    html = client.get(reverse("audit:audit-matrix", args=[study.pk])).content.decode()
    assert f'id="registry-revision">{revision}<' in html
    matrix = html[html.index('id="audit-matrix"') :]
    common = matrix[matrix.index("Common Ground") :]
    assert "unverified" in common[: common.index("</td>")]  # marked, not left out
    not_audited = html[html.index('id="not-audited"') :]
    assert "13 built-in registry entries not in this audit" in not_audited
    body = client.get(reverse("audit:audit-matrix-csv", args=[study.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(body.streaming_content).decode())))
    by_title = {r[0]: r for r in rows[1:]}
    assert by_title["Common Ground"][-3:] == ["no", "1", str(revision)]
    assert by_title["IFEval"][-3:] == ["yes", "1", str(revision)]
