"""Exports: exact columns and values, pandas round-trip, formula injection, provenance,
Event entries, and a 100k-row long export in bounded memory."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import tracemalloc

import pandas as pd
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from coding import exports
from coding.csvsafe import neutralise, neutralise_text, unneutralise
from coding.models import Assignment, Dimension, Event, Item, Membership, Score, Study
from coding.services import (
    items_import,
    reconciliation_decide,
    rubric_create_from_data,
    study_create,
    study_lock,
    study_open,
    study_unblind,
)
from tests.coding.conftest import RATIONALES, code_everything, dim, make_records
from tests.factories import MembershipFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def text(study: Study, kind: str, **kw) -> str:
    return "".join(exports.export_csv(study=study, kind=kind, **kw))


def rows(study: Study, kind: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(study, kind))))


@pytest.fixture
def small(personas):
    """Two items, two coders, one disagreement (item 0, D1: 1 vs 2) decided as 2."""
    p = personas
    items_import(study=p.study, records=make_records(2), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    items = code_everything(p, {0: {"D1": 2}})
    reconciliation_decide(
        item=items[0],
        dimension=dim(p.study, "D1"),
        value=2,
        method="adjudicated",
        note="asks first",
        by=p.lead,
    )
    return p, items


def test_long_export_exact_columns_and_values(small):
    p, items = small
    table = rows(p.study, "long")
    assert table[0] == [
        "item",
        "dimension",
        "coder",
        "value",
        "rationale",
        "submitted_at",
        "rubric_version",
        "reconciled_value",
        "reconciled_method",
        "reconciled_note",
    ]
    assert len(table) == 1 + 2 * 8 * 2
    dims = [f"D{i}" for i in range(1, 9)]
    expected = []
    for n, item in enumerate(items):
        at = {
            a.coder.username: a.submitted_at.isoformat()
            for a in Assignment.objects.filter(item=item).select_related("coder")
        }
        for d in dims:
            for pseudonym, coder in (("C01", "coder_a"), ("C02", "coder_b")):
                value = 2 if (n, d, coder) == (0, "D1", "coder_b") else 1
                decided = (n, d) == (0, "D1")
                final, method, note = (
                    ("2", "adjudicated", "asks first") if decided else (("1", "agreed", ""))
                )
                expected.append(
                    [
                        item.public_code,
                        d,
                        pseudonym,
                        str(value),
                        f"{RATIONALES[coder]} ({d}).",
                        at[coder],
                        "1",
                        final,
                        method,
                        note,
                    ]
                )
    assert table[1:] == expected
    assert "coder_a," not in text(p.study, "long")  # pseudonyms, not usernames


def test_wide_export_blinded_then_with_conditions(small):
    p, items = small
    table = rows(p.study, "wide")
    dims = [f"D{i}" for i in range(1, 9)]
    assert table[0] == [
        "item",
        *dims,
        *[f"{d}_method" for d in dims],
        *[f"{d}_note" for d in dims],
    ]
    methods = ["adjudicated"] + ["agreed"] * 7
    assert table[1] == [items[0].public_code, "2"] + ["1"] * 7 + methods + ["asks first"] + [""] * 7
    assert table[2] == [items[1].public_code] + ["1"] * 8 + ["agreed"] * 8 + [""] * 8
    assert "zephyr" not in text(p.study, "wide") and "orion" not in text(p.study, "wide")
    study_lock(study=p.study, by=p.lead)
    assert rows(p.study, "wide")[0][-1] == "D8_note"  # locked is still blinded
    study_unblind(study=p.study, by=p.lead, reason="analysis")
    table = rows(p.study, "wide")
    assert table[0][25:] == ["model", "scaffold", "prompt", "specification", "replicate"]
    keys = {i.public_code: i.condition_key for i in items}
    for row in table[1:]:
        key = keys[row[0]]
        assert row[25:] == [key.model, key.scaffold, key.prompt, key.specification, "1"]


def test_design_and_event_exports(small):
    p, _items = small
    design = rows(p.study, "design")
    assert design[0] == ["item", "coder", "position"] and len(design) == 1 + 4
    events = rows(p.study, "events")
    assert events[0] == ["id", "at", "actor", "verb", "target", "payload"]
    verbs = [r[3] for r in events[1:]]
    assert verbs[:3] == ["study_create", "member_add", "member_add"] or "import" in verbs
    assert "reconcile" in verbs and "reconcile_auto" in verbs
    payload = json.loads(next(r for r in events[1:] if r[3] == "reconcile")[5])
    assert payload["value"] == 2


def test_pandas_round_trip_dtypes(small):
    p, items = small
    Score.objects.filter(assignment__item=items[1], dimension__code="D2").update(
        rationale='She said "plan, then act",\nthen asked\r\nagain: é ✓ 日本'
    )
    study_lock(study=p.study, by=p.lead)
    study_unblind(study=p.study, by=p.lead, reason="analysis")
    long = pd.read_csv(io.StringIO(text(p.study, "long")), keep_default_na=False)
    assert str(long["value"].dtype) == "int64"
    assert str(long["rubric_version"].dtype) == "int64"
    assert str(long["reconciled_value"].dtype) == "int64"
    assert long["rationale"].str.contains("plan, then act").sum() == 2
    tricky = long[long["rationale"].str.startswith("She said")]["rationale"].iloc[0]
    assert tricky == 'She said "plan, then act",\nthen asked\r\nagain: é ✓ 日本'
    assert pd.to_datetime(long["submitted_at"]).dt.tz is not None
    wide = pd.read_csv(io.StringIO(text(p.study, "wide")))
    assert all(str(wide[f"D{i}"].dtype) == "int64" for i in range(1, 9))
    assert str(wide["replicate"].dtype) == "int64"
    assert wide["item"].tolist() == [i.public_code for i in items]
    # bytes as served: UTF-8
    raw = "".join(exports.export_csv(study=p.study, kind="long")).encode("utf-8")
    assert pd.read_csv(io.BytesIO(raw), encoding="utf-8").shape == (32, 10)


def test_unreconciled_values_are_empty_and_numeric_columns_stay_numeric(personas):
    p = personas
    items_import(study=p.study, records=make_records(2), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    code_everything(p, {0: {"D1": 2}})  # D1 of item 0 is left open
    wide = pd.read_csv(io.StringIO(text(p.study, "wide")))
    assert wide["D1"].isna().sum() == 1 and str(wide["D1"].dtype) == "float64"
    long = pd.read_csv(io.StringIO(text(p.study, "long")))
    assert long["reconciled_value"].isna().sum() == 2  # two coders' rows for that cell


INJECTIONS = {
    '=HYPERLINK("http://x")': '\'=HYPERLINK("http://x")',
    "+1+2": "'+1+2",
    "-2+3": "'-2+3",
    "@SUM(A1)": "'@SUM(A1)",
    "\tcmd": "'\tcmd",
    "\rcmd": "'\rcmd",
    "-1": "-1",
    "+2.5": "+2.5",
    "-3e4": "-3e4",
    "'=already": "''=already",
    "'plain": "'plain",
    "plain": "plain",
}


@pytest.mark.parametrize(("raw", "safe"), INJECTIONS.items())
def test_neutralise_cases(raw, safe):
    assert neutralise_text(raw) == safe
    assert neutralise(raw) == safe
    assert unneutralise(safe) == raw
    assert neutralise(-1) == -1 and neutralise(None) == ""


@given(st.text())
def test_neutralise_round_trips_and_is_safe(value):
    safe = neutralise_text(value)
    assert unneutralise(safe) == value
    if safe and safe[0] in "=+-@\t\r":
        float(safe)  # only numbers may keep a trigger character in front


def test_formula_injection_in_exports(personas):
    p = personas
    rubric = rubric_create_from_data(
        data={
            "name": "Hostile rubric",
            "dimensions": [
                {"code": "=D1", "levels": [{"value": -1}, {"value": 0}, {"value": 1}]},
                {"code": "@D2", "levels": [{"value": 0}, {"value": 1}]},
            ],
        }
    )
    study = study_create(name="Hostile", rubric=rubric, by=p.lead)
    for user in (p.coder_a, p.coder_b):
        MembershipFactory(study=study, user=user, role=Membership.Role.CODER)
    records = make_records(1)
    records[0]["model"] = "=cmd|' /C calc'!A0"
    records[0]["scaffold"] = "-C1"
    items_import(study=study, records=records, by=p.lead)
    study_open(study=study, by=p.lead)
    study.refresh_from_db()
    item = Item.objects.get(study=study)
    rationales = list(INJECTIONS)
    from coding.services import score_submit

    for n, user in enumerate((p.coder_a, p.coder_b)):
        a = Assignment.objects.get(item=item, coder=user)
        values = {
            "=D1": {"value": -1, "rationale": rationales[n]},
            "@D2": {"value": 1, "rationale": rationales[n + 2]},
        }
        score_submit(assignment=a, values=values, expected_version=a.version, by=user)
    study_lock(study=study, by=p.lead)
    study_unblind(study=study, by=p.lead, reason="check")
    long = rows(study, "long")
    assert [r[1] for r in long[1:]] == ["'=D1", "'=D1", "'@D2", "'@D2"]
    assert {r[4] for r in long[1:]} == {INJECTIONS[r] for r in rationales[:4]}
    assert {r[3] for r in long[1:]} == {"-1", "1"}  # numbers are not prefixed
    assert {r[7] for r in long[1:]} == {"-1", "1"}  # reconciled (agreed) values too
    wide = rows(study, "wide")
    assert wide[0][:3] == ["item", "'=D1", "'@D2"]
    assert wide[1][1:3] == ["-1", "1"]
    assert wide[0][3:7] == ["'=D1_method", "'@D2_method", "'=D1_note", "'@D2_note"]
    assert wide[1][-5:-3] == ["'=cmd|' /C calc'!A0", "'-C1"]
    frame = pd.read_csv(io.StringIO(text(study, "long")))
    assert str(frame["value"].dtype) == "int64"
    for cell in long[1:]:
        assert not cell[4] or cell[4][0] not in "=+-@\t\r" or cell[4] in ("-1", "+2.5")


def test_downloads_are_logged_and_provenance_hashes_the_bytes(small, client, settings):
    p, _items = small
    settings.GIT_COMMIT = ""
    study_lock(study=p.study, by=p.lead)
    client.force_login(p.lead)
    for kind in exports.KINDS:
        url = reverse("coding:export-csv", args=[p.study.pk, kind])
        response = client.get(url)
        assert response.status_code == 200 and response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert f"study-{p.study.pk}-{kind}.csv" in response["Content-Disposition"]
        body = b"".join(response.streaming_content)
        prov_url = reverse("coding:export-provenance", args=[p.study.pk, kind])
        sidecar = client.get(prov_url)
        assert sidecar.status_code == 200 and "provenance.json" in sidecar["Content-Disposition"]
        data = sidecar.json()
        if kind == "events":
            # the log grew; the sidecar names the exact bytes it hashed
            assert "?upto=" in data["csv_url"]
            path = data["csv_url"].split("testserver", 1)[1]
            body = b"".join(client.get(path).streaming_content)
        assert data["sha256"] == hashlib.sha256(body).hexdigest(), kind
        assert data["bytes"] == len(body)
        assert data["rows"] == len(list(csv.reader(io.StringIO(body.decode())))) - 1
        assert data["study"] == {"id": p.study.pk, "name": p.study.name, "status": "locked"}
        assert data["rubric"]["version"] == p.study.rubric.version
        assert len(data["code_version"]) == 40  # git rev-parse HEAD
        assert data["stable"] is True
        assert timezone.datetime.fromisoformat(data["exported_at"])
    logged = Event.objects.filter(study=p.study, verb="export", actor=p.lead)
    targets = list(logged.values_list("target", flat=True))
    assert sorted(t for t in targets if "." not in t) == [
        "design",
        "events",
        "events",
        "long",
        "wide",
    ]
    assert sorted(t for t in targets if t.endswith(".provenance")) == sorted(
        f"{k}.provenance" for k in exports.KINDS
    )
    assert client.get(reverse("coding:export-csv", args=[p.study.pk, "nope"])).status_code == 404


def test_exports_page_documents_the_files(small, client, django_assert_max_num_queries):
    p, _items = small
    client.force_login(p.lead)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("coding:study-exports", args=[p.study.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    for needle in ("reconciled_value", "SHA-256", "apostrophe", "pseudonym", "Lock study"):
        assert needle in body, needle


def _bulk_study(personas, n_items: int) -> Study:
    """n_items x 2 coders x 8 dimensions submitted scores, written with bulk_create."""
    p = personas
    study = p.study
    Study.objects.filter(pk=study.pk).update(status=Study.Status.OPEN)
    now = timezone.now()
    items = Item.objects.bulk_create(
        [
            Item(study=study, public_code=f"B{i:07d}", content={"messages": []}, content_sha256="x")
            for i in range(n_items)
        ],
        batch_size=2000,
    )
    Assignment.objects.bulk_create(
        [
            Assignment(item=item, coder=coder, position=n, status="submitted", submitted_at=now)
            for n, item in enumerate(items)
            for coder in (p.coder_a, p.coder_b)
        ],
        batch_size=2000,
    )
    # INSERT ... SELECT: 100k score rows in one statement (much faster than model objects).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Score._meta.db_table} "
            "(assignment_id, dimension_id, value, rationale, rubric_version, updated_at) "
            "SELECT a.id, d.id, (a.id + d.id) %% 3, %s, 1, %s "
            f"FROM {Assignment._meta.db_table} a, {Dimension._meta.db_table} d "
            f"WHERE d.rubric_id = %s AND a.id IN (SELECT a2.id FROM {Assignment._meta.db_table} a2 "
            f"JOIN {Item._meta.db_table} i ON i.id = a2.item_id WHERE i.study_id = %s)",
            [
                "Asks a clarifying question before planning, as expected.",
                now,
                study.rubric_id,
                study.pk,
            ],
        )
    return study


def test_100k_row_long_export_in_bounded_memory(personas):
    study = _bulk_study(personas, 6250)
    assert Score.objects.filter(assignment__item__study=study).count() == 100_000
    digest, n_bytes, lines = hashlib.sha256(), 0, 0
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    for chunk in exports.export_csv(study=study, kind="long"):
        data = chunk.encode()
        digest.update(data)
        n_bytes += len(data)
        lines += chunk.count("\n")
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    assert lines == 100_001
    assert n_bytes > 10_000_000  # ~12 MB of CSV went through...
    assert peak < 50 * 1024 * 1024, f"peak growth {peak / 1e6:.1f} MB"  # ...in bounded memory
    print(f"100k rows in {elapsed:.2f}s (tracemalloc on), peak growth {peak / 1e6:.1f} MB")
