"""Analysis pages: access, sealing before unblinding, numbers equal to the stats modules."""

import csv
import io
import json
import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from scipy import stats

from audit.models import Benchmark
from audit.registry import registry_revision
from audit.services import benchmark_audit_study_create
from audit.stats.anova import scaffold_efficacy
from audit.stats.instability import rank_instability
from coding.models import ConditionKey, Event, Item, Membership, Reconciliation
from tests.audit.conftest import build_study
from tests.coding.conftest import make_records
from tests.factories import MembershipFactory, StudyFactory

pytestmark = pytest.mark.django_db

STUDY_NAMES = [
    "audit:study-analysis",
    "audit:audit-matrix",
    "audit:audit-matrix-csv",
    "audit:scaffold-efficacy",
    "audit:scaffold-efficacy-json",
    "audit:alignment-profiles",
    "audit:claim-report",
    "audit:claim-report-md",
    "audit:claim-report-json",
]
GLOBAL_NAMES = [
    "audit:index",
    "audit:benchmark-list",
    "audit:benchmark-audit-create",
    "audit:rank-instability",
]


def test_study_pages_are_lead_only(unblinded, client):
    p = unblinded
    urls = [reverse(name, args=[p.study.pk]) for name in STUDY_NAMES]
    for user in (p.outsider, p.other_lead, p.coder_a, p.coder_b, p.adjudicator):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(reverse("audit:claim-report", args=[p.study.pk]), {}).status_code == 404
    client.force_login(p.lead)
    for url in urls:
        assert client.get(url).status_code == 200, url
    for name in STUDY_NAMES:
        assert client.get(reverse(name, args=[p.other_study.pk])).status_code == 404
    client.logout()
    assert client.get(urls[0]).status_code == 302


def test_global_pages_need_a_lead_role_somewhere(personas, client):
    benchmark = Benchmark.objects.get(name="IFEval")
    urls = [reverse(name) for name in GLOBAL_NAMES]
    urls.append(reverse("audit:benchmark-detail", args=[benchmark.pk]))
    urls.append(reverse("audit:benchmark-propose", args=[benchmark.pk]))
    for user in (personas.outsider, personas.coder_a, personas.adjudicator):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
    for user in (personas.lead, personas.other_lead):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 200, (user, url)
    client.logout()
    assert client.get(urls[0]).status_code == 302


def test_condition_pages_are_sealed_before_unblinding(coded, client):
    p = coded
    client.force_login(p.lead)
    for name in ("audit:scaffold-efficacy", "audit:alignment-profiles"):
        html = client.get(reverse(name, args=[p.study.pk])).content.decode()
        assert "Available after unblinding" in html
        assert "C1" not in html and "GPT-4o" not in html
    response = client.get(reverse("audit:scaffold-efficacy-json", args=[p.study.pk]))
    assert response.status_code == 302
    hub = client.get(reverse("audit:study-analysis", args=[p.study.pk])).content.decode()
    assert "open after it is locked and unblinded" in hub
    assert not Event.objects.filter(verb="key_view").exists()


def _efficacy_rows(study):
    keys = {k.item_id: k for k in ConditionKey.objects.filter(item__study=study)}
    return [
        {
            "model": keys[r.item_id].model,
            "scaffold": keys[r.item_id].scaffold,
            "prompt": keys[r.item_id].prompt,
            "specification": keys[r.item_id].specification,
            "dimension": r.dimension.code,
            "value": r.value,
        }
        # The page's order (selectors.reconciled_rows_with_keys): the sums, and so the last
        # digits of F, depend on it, and the table's physical order varies between runs.
        for r in Reconciliation.objects.filter(item__study=study)
        .select_related("dimension")
        .order_by("item_id", "dimension__order")
    ]


def test_efficacy_page_equals_scaffold_efficacy(unblinded, client):
    p = unblinded
    client.force_login(p.lead)
    response = client.get(reverse("audit:scaffold-efficacy", args=[p.study.pk]))
    assert response.status_code == 200
    expected = scaffold_efficacy(_efficacy_rows(p.study))
    shown = response.context["eff"]["result"]
    assert shown == expected
    html = response.content.decode()
    assert "<svg" in html and 'id="interaction"' in html and 'id="under-specified"' in html
    # C2 and C3 raise D1 for every model: F is defined and the page prints it.
    d1 = next(t for t in expected["one_way"] if t["model"] == "GPT-4o" and t["dimension"] == "D1")
    assert d1["F"] > 1 and d1["p"] < 0.2 and d1["p_holm"] >= d1["p"]
    assert f"{d1['F']:.2f}" in html
    for model in ("GPT-4o", "orion-mini", "zephyr-large"):
        assert f"<h2>{model}</h2>" in html
    # (the fixture's agreement snapshot logged its own read, for "agreement")
    event = Event.objects.get(verb="key_view", payload__reason="analysis")
    assert event.actor == p.lead
    assert event.payload == {
        "reason": "analysis",
        "purpose": "scaffold efficacy",
        "what": "conditions of reconciled values",
        "role": "lead",
        "blinded": False,
    }
    body = json.loads(
        client.get(reverse("audit:scaffold-efficacy-json", args=[p.study.pk])).content
    )
    assert body == json.loads(json.dumps(expected))


def test_efficacy_page_when_a_model_skipped_a_scaffold(personas, client):
    # Issue 13 part 7: orion-mini never ran C4. Its one-way tests run over C1-C3 with a
    # note naming C4, and the two-way ANOVA is fitted with the empty cell, the reason shown.
    records = [r for r in make_records(24) if (r["model"], r["scaffold"]) != ("orion-mini", "C4")]
    study = build_study(personas, records=records, unblind=True)
    client.force_login(personas.lead)
    response = client.get(reverse("audit:scaffold-efficacy", args=[study.pk]))
    assert response.status_code == 200
    result = response.context["eff"]["result"]
    orion = [t for t in result["one_way"] if t["model"] == "orion-mini"]
    assert orion and all(t["df_between"] == 2 and "scaffold C4" in t["note"] for t in orion)
    assert all(t["n"]["C4"] == 0 for t in orion)
    html = response.content.decode()
    assert "no observations for scaffold C4: tested across C1, C2, C3 (df 2)" in html
    for row in result["two_way"]:
        assert "orion-mini/C4" in row["note"] and row["terms"]["model:scaffold"]["df"] == 5
    assert "empty model x scaffold cell orion-mini/C4" in html


def test_profiles_use_student_t_intervals(unblinded, client):
    p = unblinded
    client.force_login(p.lead)
    response = client.get(reverse("audit:alignment-profiles", args=[p.study.pk]))
    profiles = response.context["profiles"]
    assert len(profiles) == 12  # 3 models x 4 scaffolds
    rows = [r for r in _efficacy_rows(p.study) if r["dimension"] == "D1"]
    values = [r["value"] for r in rows if (r["model"], r["scaffold"]) == ("GPT-4o", "C2")]
    profile = next(x for x in profiles if (x["model"], x["scaffold"]) == ("GPT-4o", "C2"))
    d1 = profile["dimensions"][0]
    mean = sum(values) / len(values)
    assert d1["mean"] == pytest.approx(mean) and d1["n"] == len(values)
    if len(set(values)) > 1:
        sd = stats.tstd(values)
        half = stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))
        assert (d1["lo"], d1["hi"]) == pytest.approx((mean - half, mean + half))
    html = response.content.decode()
    assert "<svg" in html and 'id="profile-table"' in html and "Student-t" in html


def _document_study(p):
    """Three seeded benchmarks audited by coder_a/coder_b, with known reconciled values."""
    names = ["IFEval", "MT-Bench", "tau-bench"]
    study = benchmark_audit_study_create(
        name="Audit", benchmarks=list(Benchmark.objects.filter(name__in=names)), by=p.lead
    )
    dims = {d.code: d for d in study.rubric.dimensions.all()}
    values = {  # benchmark -> D1..D8
        "IFEval": [2, 0, 1, 0, 0, 0, 0, 0],
        "MT-Bench": [1, 0, 0, 2, 0, 0, 0, 1],
        "tau-bench": [2, 1, 0, 2, 1, 1, 0, 2],
    }
    for item in Item.objects.filter(study=study):
        for code, value in zip(dims, values[item.content["title"]], strict=True):
            if item.content["title"] == "MT-Bench" and code == "D8":
                continue  # one cell not reconciled yet
            Reconciliation.objects.create(
                item=item, dimension=dims[code], value=value, method="agreed"
            )
    return study, values


def test_audit_matrix_counts_on_a_known_document_study(personas, client):
    study, values = _document_study(personas)
    client.force_login(personas.lead)
    response = client.get(reverse("audit:audit-matrix", args=[study.pk]))
    assert response.status_code == 200
    coverage = {c["code"]: c for c in response.context["coverage"]}
    assert coverage["D3"]["text"] == "D3 present in 0 of 3"
    assert coverage["D1"]["text"] == "D1 present in 2 of 3"
    assert (coverage["D4"]["present"], coverage["D4"]["absent"]) == (2, 1)
    assert (coverage["D8"]["present"], coverage["D8"]["missing"]) == (1, 1)
    rows = response.context["matrix"]["rows"]
    assert [r["title"] for r in rows] == ["IFEval", "MT-Bench", "tau-bench"]
    assert rows[0]["values"] == values["IFEval"]
    assert rows[1]["values"][7] is None
    assert response.context["matrix"]["n_complete"] == 2
    html = response.content.decode()
    assert "D3 present in 0 of 3" in html and 'class="cell v2"' in html
    response = client.get(reverse("audit:audit-matrix-csv", args=[study.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["title", "item", "external_id", "year", "claim_level"]
    assert rows[0][5:13] == [f"D{i}" for i in range(1, 9)]
    assert rows[0][13:] == ["citation_verified", "registry_entry_version", "registry_revision"]
    assert rows[1][13:15] == ["yes", "1"] and rows[1][15] == str(registry_revision())
    assert rows[3][0] == "tau-bench" and rows[3][5:13] == [str(v) for v in values["tau-bench"]]
    assert rows[2][12] == ""
    assert Event.objects.filter(verb="export", target="audit_matrix.csv").exists()


def test_registry_is_seeded_and_leads_add_and_edit(personas, client):
    seeded = set(Benchmark.objects.filter(builtin=True).values_list("name", flat=True))
    assert len(seeded) == 16 and {"TruthfulQA", "Common Ground", "Rifts"} <= seeded
    assert Benchmark.objects.get(name="MT-Bench").citation.startswith("Zheng, L.")
    client.force_login(personas.lead)
    url = reverse("audit:benchmark-list")
    data = {"name": "HarmBench", "year": 2024, "claim_level": "model", "description": "Prompts."}
    response = client.post(url, data)
    assert response.status_code == 302
    added = Benchmark.objects.get(name="HarmBench")
    assert added.created_by == personas.lead and not added.builtin
    response = client.post(url, {**data, "name": "harmbench"})
    assert response.status_code == 400 and b"already in the registry" in response.content
    edit = reverse("audit:benchmark-edit", args=[added.pk])
    response = client.post(edit, {**data, "claim_level": "response", "notes": "checked"})
    assert response.status_code == 302
    added.refresh_from_db()
    assert (added.claim_level, added.notes) == ("response", "checked")
    assert "HarmBench" in client.get(url).content.decode()


def test_benchmark_audit_study_from_the_form(personas, client):
    client.force_login(personas.lead)
    picked = list(Benchmark.objects.filter(name__in=["TruthfulQA", "Rifts"]))
    url = reverse("audit:benchmark-audit-create")
    rubric = personas.study.rubric_id
    response = client.post(
        url,
        {
            "name": "My audit",
            "benchmarks": [b.pk for b in picked],
            "rubric": rubric,
            "coders_per_item": 2,
        },
    )
    assert response.status_code == 302
    items = Item.objects.filter(study__name="My audit").order_by("external_id")
    assert [i.kind for i in items] == ["document", "document"]
    assert {i.content["title"] for i in items} == {"TruthfulQA", "Rifts"}
    assert {i.external_id for i in items} == {f"benchmark-{b.pk}" for b in picked}
    assert (
        "Source: Lin, S."
        in next(i for i in items if i.content["title"] == "TruthfulQA").content["text"]
    )
    assert Membership.objects.get(study__name="My audit").user == personas.lead
    # An entry without a description for coders is refused, with nothing created.
    common = Benchmark.objects.get(name="Common Ground")
    response = client.post(
        url, {"name": "Bad", "benchmarks": [common.pk], "rubric": rubric, "coders_per_item": 2}
    )
    assert response.status_code == 200 and b"no description for coders" in response.content
    assert not Item.objects.filter(study__name="Bad").exists()


def test_rank_instability_example_and_upload(personas, client):
    client.force_login(personas.lead)
    url = reverse("audit:rank-instability")
    response = client.get(url + "?example=1")
    html = response.content.decode()
    assert response.status_code == 200 and html.count("<svg") == 2
    benchmarks = response.context["benchmarks"]
    assert [b["name"] for b in benchmarks] == ["jailbreak-resistance", "refusal-harmful"]
    upload = (
        "config,model,benchmark,score\n"
        "c1,a,b1,0.9\nc1,b,b1,0.8\nc1,c,b1,0.7\n"
        "c2,a,b1,0.7\nc2,b,b1,0.8\nc2,c,b1,0.6\n"
        "c3,a,b1,0.9\nc3,b,b1,0.8\nc3,c,b1,0.8\n"
    )
    response = client.post(url, {"file": SimpleUploadedFile("r.csv", upload.encode())})
    assert response.status_code == 200
    shown = response.context["benchmarks"][0]
    expected = rank_instability([row.split(",") for row in upload.strip().splitlines()[1:]])[
        "benchmarks"
    ]["b1"]
    assert shown["pairs"] == expected["pairs"]
    assert shown["rank_flip_rate"] == expected["rank_flip_rate"]
    assert "reversal" in response.content.decode()
    bad = SimpleUploadedFile("bad.csv", b"config,model,score\nc1,a,1\n")
    response = client.post(url, {"file": bad})
    assert response.status_code == 400 and b"missing column" in response.content


def test_list_pages_have_bounded_queries(personas, client, django_assert_max_num_queries):
    for i in range(6):
        study = StudyFactory(name=f"Extra {i}")
        MembershipFactory(study=study, user=personas.lead, role=Membership.Role.LEAD)
    client.force_login(personas.lead)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("audit:index"))
    assert response.status_code == 200 and response.content.count(b"Dashboard") == 7
    with django_assert_max_num_queries(8):
        assert client.get(reverse("audit:benchmark-list")).status_code == 200
