"""Shared by the tests of test_access_matrix.py and others."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from coding.models import Assignment
from coding.services import rubric_export
from tests.coding.conftest import as_jsonl, full_values, make_records
from tests.security.conftest import PERSONAS, World

LOGIN = "login"  # 302 to /login/?next=<the page>


NOT_ALLOWED = 405


def only(**codes: int | str) -> dict[str, int | str]:
    """The given personas as stated, anonymous to the login page, every other user 404."""
    row: dict[str, int | str] = {p: 404 for p in PERSONAS}
    row["anonymous"] = LOGIN
    row.update(codes)
    return row


def everyone(status: int | str, anonymous: int | str = LOGIN) -> dict[str, int | str]:
    return {p: (anonymous if p == "anonymous" else status) for p in PERSONAS}


def post_only() -> dict[str, int | str]:
    """GET on a POST-only view: 405 for every signed-in user (it says nothing about objects)."""
    return everyone(NOT_ALLOWED)


LEAD = {"lead": 200}


CODERS = {"coder_a": 200, "coder_b": 200}  # k = 2 with two coders: every item is theirs


RECONCILERS = {"adjudicator": 200, "lead": 200}


CREATORS = {"lead": 200, "other_lead": 200}  # leads of any study (and staff)


GENERATORS = CREATORS | {"operator": 200}  # generation: leads and operators of any study


Body = Callable[[World, str], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    get: dict[str, int | str]
    post: dict[str, int | str] | None = None  # state-changing views: status with ``body``
    body: Body | None = None
    study: str = "open"  # "open": the personas' study; "done": the unblinded one
    code: str = "disputed"  # "disputed": submitted by both coders; "open": nobody's yet;


def _rubric_upload(w: World, _persona: str) -> dict[str, Any]:
    data = {**rubric_export(rubric=w.rubric), "name": "Matrix rubric"}
    return {"file": SimpleUploadedFile("rubric.json", json.dumps(data).encode())}


def _save_body(w: World, persona: str) -> dict[str, Any]:
    version = _version(w, persona)
    return {"version": version, "value_D1": "1", "rationale_D1": "draft"}


def _submit_body(w: World, persona: str) -> dict[str, Any]:
    body: dict[str, Any] = {"version": _version(w, persona)}
    for code, v in full_values(w.study, 1, "matrix").items():
        body[f"value_{code}"], body[f"rationale_{code}"] = v["value"], v["rationale"]
    return body


def _version(w: World, persona: str) -> int:
    mine = Assignment.objects.filter(item__public_code=w.open_code, coder=w.user(persona))
    return mine.values_list("version", flat=True).first() or 0


EXAMPLE_RANKS = Path(__file__).resolve().parents[2] / "audit/data/rank_instability_example.csv"


EXPECTED: dict[str, Row] = {
    # --- project ---------------------------------------------------------------------------
    "home": Row(everyone(200)),
    "healthz": Row(everyone(200, anonymous=200)),
    "login": Row(
        {**everyone(302), "anonymous": 200},  # signed-in users are sent home
        post={**everyone(302), "anonymous": 200},  # wrong password: the form again
        body=lambda w, p: {"username": "nobody", "password": "wrong"},
    ),
    "logout": Row(everyone(NOT_ALLOWED, anonymous=NOT_ALLOWED), post=everyone(302, anonymous=302)),
    "password-change": Row(
        everyone(200),
        post=everyone(200),  # wrong current password: the form again
        body=lambda w, p: {"old_password": "wrong", "new_password1": "a", "new_password2": "a"},
    ),
    # --- coding: lead ----------------------------------------------------------------------
    "coding:study-create": Row(
        only(**CREATORS),
        post=only(lead=302, other_lead=302),
        body=lambda w, p: {"name": "Matrix", "rubric": w.rubric.pk, "coders_per_item": 2},
    ),
    "coding:rubric-list": Row(
        only(**CREATORS), post=only(lead=302, other_lead=302), body=_rubric_upload
    ),
    "coding:rubric-export": Row(only(**CREATORS)),
    "coding:study-detail": Row(only(**LEAD)),
    "coding:study-members": Row(
        only(**LEAD),
        post=only(lead=302),
        body=lambda w, p: {"username": "outsider", "role": "coder"},
    ),
    "coding:study-import": Row(
        only(**LEAD),
        post=only(lead=302),
        body=lambda w, p: {
            "file": SimpleUploadedFile("more.jsonl", as_jsonl(make_records(2, prefix="mx")))
        },
    ),
    "coding:study-import-key": Row(  # the study is open: the key is fixed (400, form again)
        post_only(),
        post=only(lead=400),
        body=lambda w, p: {"key-file": SimpleUploadedFile("key.csv", b"item,model\nX,m\n")},
    ),
    "coding:study-import-preview": Row(only(**LEAD)),
    "coding:study-import-confirm": Row(post_only(), post=only(lead=302)),
    "coding:study-import-discard": Row(post_only(), post=only(lead=302)),
    "coding:study-open": Row(post_only(), post=only(lead=302)),  # already open: message
    "coding:design-matrix": Row(only(**LEAD)),
    "coding:study-events": Row(only(**LEAD)),
    "coding:study-operator": Row(only(operator=200)),
    "coding:member-invite": Row(
        only(**LEAD),
        post=only(lead=200),  # the page with the new links (shown once, not redirected)
        body=lambda w, p: {"emails": "matrix@lab.org", "role": "coder", "expires_days": 14},
    ),
    "coding:invite-renew": Row(post_only(), post=only(lead=200)),
    "coding:invite-revoke": Row(post_only(), post=only(lead=302)),
    "coding:member-remove": Row(
        only(**LEAD),
        post=only(lead=400),  # k = 2 with two coders: nobody could take coder_a's items
        body=lambda w, p: {"replacement": "", "reason": "matrix"},
    ),
    # The invitation link is the credential: anyone holding it may join (once).
    "coding:invite-accept": Row(
        everyone(200, anonymous=200),
        post={
            **everyone(400),  # members of the study already: refused with a message
            "anonymous": 302,  # account made, signed in, sent to the queue
            "outsider": 302,  # joins with the signed-in account
            "other_lead": 302,
        },
        body=lambda w, p: {
            "username": "matrix_invitee",
            "password1": "plum-orchard-kettle-42",
            "password2": "plum-orchard-kettle-42",
        },
    ),
    "coding:item-list": Row(only(**LEAD)),
    "coding:item-preview": Row(only(**LEAD)),
    "coding:coder-pace": Row(only(**LEAD)),
    # --- coding: gold items and qualification (issue 18) ------------------------------------
    "coding:gold": Row(only(**LEAD)),
    "coding:gold-settings": Row(
        post_only(),
        post=only(lead=302),
        body=lambda w, p: {"gold_rate": "10", "qualification_items": "0", "pass_kappa": "0.6"},
    ),
    "coding:gold-import": Row(post_only(), post=only(lead=302)),  # no file: message, back
    "coding:gold-set": Row(post_only(), post=only(lead=302), body=lambda w, p: {"item_code": "x"}),
    "coding:qualification-retry": Row(
        post_only(), post=only(lead=302), body=lambda w, p: {"coder": "coder_a"}
    ),
    # Training feedback: only the coder who submitted the gold item reads it.
    "coding:gold-feedback": Row(only(coder_a=200), code="gold"),
    # --- coding: coders --------------------------------------------------------------------
    "coding:queue": Row(only(**CODERS)),
    "coding:next-item": Row(only(coder_a=302, coder_b=302)),
    "coding:code-item": Row(only(**CODERS)),
    "coding:save-item": Row(post_only(), post=only(**CODERS), body=_save_body, code="open"),
    "coding:submit-item": Row(
        post_only(), post=only(coder_a=302, coder_b=302), body=_submit_body, code="open"
    ),
    # The world's one pair (security/conftest.py) has the disputed item's code.
    "coding:pair-queue": Row(only(**CODERS)),
    "coding:next-pair": Row(only(coder_a=302, coder_b=302)),
    "coding:code-pair": Row(only(**CODERS)),
    "coding:submit-pair": Row(
        post_only(),
        post=only(coder_a=302, coder_b=302),
        body=lambda w, p: (
            {"version": 0} | {f"choice_{d.code}": "tie" for d in w.study.rubric.dimensions.all()}
        ),
    ),
    # --- coding: reconciliation, lock, unblind, key, exports -------------------------------
    "coding:reconcile-queue": Row(only(**RECONCILERS)),
    "coding:reconcile-auto": Row(post_only(), post=only(adjudicator=302, lead=302)),
    "coding:reconcile-item": Row(
        only(**RECONCILERS),
        post=only(adjudicator=302, lead=302),
        body=lambda w, p: {"value_D1": "1", "method_D1": "adjudicated", "note_D1": "matrix"},
    ),
    "coding:study-exports": Row(only(**LEAD)),
    "coding:study-lock": Row(post_only(), post=only(lead=302), body=lambda w, p: {"reason": "x"}),
    "coding:study-unblind": Row(
        post_only(), post=only(lead=302), body=lambda w, p: {"reason": "x"}
    ),
    "coding:condition-key": Row(only(**LEAD), study="done"),
    "coding:condition-key-item": Row(only(**LEAD), study="done"),
    "coding:export-csv": Row(only(**LEAD)),
    "coding:export-provenance": Row(only(**LEAD)),
    # --- audit -----------------------------------------------------------------------------
    "audit:agreement": Row(only(**LEAD)),
    "audit:agreement-status": Row(only(**LEAD)),
    "audit:agreement-json": Row(only(**LEAD)),
    "audit:agreement-csv": Row(only(**LEAD)),
    "audit:index": Row(only(**CREATORS)),
    "audit:benchmark-list": Row(
        only(**CREATORS),
        post=only(lead=302, other_lead=302),
        body=lambda w, p: {"name": "Matrix bench", "description": "d"},
    ),
    # The benchmark is the lead's own entry: another lead is sent to copy or propose.
    "audit:benchmark-edit": Row(
        only(lead=200, other_lead=302),
        post=only(lead=302, other_lead=302),
        body=lambda w, p: {"name": w.benchmark.name, "description": "edited"},
    ),
    "audit:benchmark-detail": Row(only(**CREATORS)),
    "audit:benchmark-propose": Row(
        only(**CREATORS),
        post=only(lead=302, other_lead=302),
        body=lambda w, p: {"name": w.benchmark.name, "description": "other", "note": "why"},
    ),
    "audit:benchmark-copy": Row(post_only(), post=only(lead=302, other_lead=302)),
    "audit:proposal-decide": Row(
        post_only(), post=only(lead=302, other_lead=302), body=lambda w, p: {"decision": "reject"}
    ),
    "audit:benchmark-audit-create": Row(
        only(**CREATORS),
        post=only(lead=302, other_lead=302),
        body=lambda w, p: {
            "name": "Matrix audit",
            "benchmarks": [w.benchmark.pk],
            "rubric": w.rubric.pk,
            "coders_per_item": 2,
        },
    ),
    "audit:rank-instability": Row(
        only(**CREATORS),
        post=only(**CREATORS),  # not state-changing, but it takes an upload
        body=lambda w, p: {"file": SimpleUploadedFile("ranks.csv", EXAMPLE_RANKS.read_bytes())},
    ),
    "audit:rankings": Row(
        only(**CREATORS),
        post=only(**CREATORS),  # not state-changing, but it takes an upload
        body=lambda w, p: {
            "file": SimpleUploadedFile("ranks.csv", EXAMPLE_RANKS.read_bytes()),
            "kind": "scores",
            "bootstrap": 0,
            "seed": 1,
        },
    ),
    "audit:g-study": Row(only(**LEAD)),
    "audit:quality": Row(only(**LEAD)),
    "audit:drift": Row(only(**LEAD)),
    "audit:study-rankings": Row(only(**LEAD), study="done"),  # a logged read of the key
    "audit:study-analysis": Row(only(**LEAD)),
    "audit:audit-matrix": Row(only(**LEAD)),
    "audit:audit-matrix-csv": Row(only(**LEAD)),
    "audit:scaffold-efficacy": Row(only(**LEAD), study="done"),
    "audit:scaffold-efficacy-json": Row(only(**LEAD), study="done"),
    "audit:alignment-profiles": Row(only(**LEAD), study="done"),
    "audit:claim-report": Row(
        only(**LEAD),
        post=only(lead=302),
        body=lambda w, p: {"claim": "Scaffolds matter.", "deployment_context": "Tests."},
    ),
    "audit:claim-report-md": Row(only(**LEAD)),
    "audit:claim-report-json": Row(only(**LEAD)),
    "audit:blinding": Row(only(**LEAD)),
    "audit:blinding-check": Row(post_only(), post=only(lead=302)),
    "audit:blinding-check-status": Row(only(**LEAD)),
    "audit:scrub-rule-add": Row(  # the study is open: refused with a message
        post_only(), post=only(lead=302), body=lambda w, p: {"kind": "name", "text": "Matrix"}
    ),
    "audit:scrub-rule-delete": Row(post_only(), post=only(lead=302)),
    # --- transcripts (generation) ----------------------------------------------------------
    "transcripts:run-list": Row(only(**GENERATORS)),
    "transcripts:run-create": Row(
        only(**GENERATORS), post=only(**GENERATORS), body=lambda w, p: {"name": ""}
    ),  # invalid form: shown again (valid runs call model APIs)
    "transcripts:run-detail": Row(only(**LEAD)),
    "transcripts:run-progress": Row(only(**LEAD)),
    "transcripts:run-cancel": Row(post_only(), post=only(lead=302)),
    "transcripts:run-resume": Row(post_only(), post=only(lead=302)),
    "transcripts:run-retry-failed": Row(post_only(), post=only(lead=302)),
    "transcripts:run-to-study": Row(
        post_only(),
        post=only(lead=302),
        body=lambda w, p: {"name": "From the run", "coders_per_item": 2},
    ),
    "transcripts:run-card-md": Row(only(**LEAD)),
    "transcripts:run-card-json": Row(only(**LEAD)),
    "transcripts:transcript-list": Row(only(**LEAD)),
    "transcripts:transcript-detail": Row(only(**LEAD)),
    "transcripts:endpoint-list": Row(only(**GENERATORS)),
    "transcripts:endpoint-create": Row(
        only(**GENERATORS), post=only(**GENERATORS), body=lambda w, p: {"name": ""}
    ),  # invalid form (a valid one would resolve the host name)
    "transcripts:library": Row(only(**GENERATORS)),
    # The new-run form's cells/tokens/cost preview (an htmx partial; reads only).
    "transcripts:run-estimate": Row(
        post_only(), post=only(**GENERATORS), body=lambda w, p: {"name": ""}
    ),
    # The endpoint belongs to the lead: nobody else learns it exists.
    "transcripts:endpoint-detail": Row(only(**LEAD)),
    "transcripts:endpoint-edit": Row(
        post_only(), post=only(**LEAD), body=lambda w, p: {"max_concurrency": ""}
    ),  # invalid form: shown again with the error
    "transcripts:endpoint-check": Row(post_only(), post=only(lead=302)),
    "transcripts:endpoint-check-status": Row(only(**LEAD)),
    # --- transcripts: model co-coder (the study's leads only) -------------------------------
    "transcripts:judge": Row(only(**LEAD), post=only(lead=200), body=lambda w, p: {}),
    "transcripts:judge-detail": Row(only(**LEAD)),
    "transcripts:judge-progress": Row(only(**LEAD)),
    "transcripts:judge-calibration-json": Row(only(**LEAD)),
    "transcripts:judge-calibration-csv": Row(only(**LEAD)),
    "transcripts:judge-cancel": Row(post_only(), post=only(lead=302)),
    "transcripts:judge-retry-failed": Row(post_only(), post=only(lead=302)),
    "transcripts:judge-counts-as-coder": Row(post_only(), post=only(lead=302)),
}


# Served to anyone: the OpenAPI document describes routes, not data (asserted below).
SCHEMA_ROUTES = {"api-schema": 200, "api-docs": 200}


@dataclass
class HtmlRoute:
    route: str
    name: str
    pattern: URLPattern

    @property
    def converters(self) -> list[str]:
        """Keyword arguments of the route (path() converters or re_path() named groups)."""
        return list(self.pattern.pattern.regex.groupindex)


def walk(patterns: list, prefix: str = "", ns: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{ns}{p.namespace}:" if p.namespace else ns
            yield from walk(p.url_patterns, prefix + str(p.pattern), inner)
        else:
            yield prefix + str(p.pattern), f"{ns}{p.name}" if p.name else "", p


def all_routes() -> list[HtmlRoute]:
    return [HtmlRoute(r, n, p) for r, n, p in walk(get_resolver().url_patterns)]


def html_routes() -> list[HtmlRoute]:
    """Every project route that is not the API, the admin, the schema or static files."""
    return [
        r
        for r in all_routes()
        if not r.route.startswith(("api/", "admin/", "static/")) and r.name not in SCHEMA_ROUTES
    ]


def url_for(w: World, name: str, row: Row) -> str:
    kwargs = w.kwargs(row.study)
    if row.code == "open":
        kwargs["code"] = w.open_code
    elif row.code == "gold":
        kwargs["code"] = w.extra["gold_code"]
    route = next(r for r in all_routes() if r.name == name)
    return reverse(name, kwargs={k: kwargs[k] for k in route.converters})


def call(client, method: str, url: str, data: dict | None = None):
    """One request in a savepoint that is rolled back: no persona sees another's writes.

    The client's cookies are restored afterwards too (a logout would otherwise end the
    persona's session for every later request)."""
    cookies = SimpleCookie(client.cookies.output(header="", sep="\n"))
    with transaction.atomic():
        response = getattr(client, method)(url, data or {})
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


def check(response, expected: int | str, url: str) -> str | None:
    if expected == LOGIN:
        location = response.get("Location", "")
        if response.status_code == 302 and location.startswith(reverse("login") + "?next="):
            return None
        return f"{response.status_code} {location!r} != redirect to login"
    if response.status_code != expected:
        return f"{response.status_code} != {expected}"
    return None


def unmasked(body: bytes) -> bytes:
    """The page without its CSRF token (masked differently on every render)."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)
    return re.sub(rb'name="csrf-token" content="[^"]+"', b"", body)


ANON = "anon"  # 401 or 403, depending on the authentication class


GEN_CREATORS = {"lead": 200, "other_lead": 200, "operator": 200}


def api_only(**codes: int | str) -> dict[str, int | str]:
    row: dict[str, int | str] = {p: 404 for p in PERSONAS}
    row["anonymous"] = ANON
    row.update(codes)
    return row


# (url name, method) -> persona -> status, for routes that tests/coding/api_matrix.py does not own.
GENERATION_API: dict[tuple[str, str], dict[str, int | str]] = {
    ("api-generation-endpoints", "get"): api_only(**GEN_CREATORS),
    ("api-generation-endpoints", "post"): api_only(lead=400, other_lead=400, operator=400),
    ("api-generation-endpoint", "get"): api_only(lead=200),
    ("api-generation-scaffolds", "get"): api_only(**GEN_CREATORS),
    ("api-generation-prompt-sets", "get"): api_only(**GEN_CREATORS),
    ("api-generation-runs", "get"): api_only(**GEN_CREATORS),
    ("api-generation-runs", "post"): api_only(lead=400, other_lead=400, operator=400),
    ("api-generation-run", "get"): api_only(lead=200),
    ("api-generation-cancel", "post"): api_only(lead=400),  # finished already
    ("api-generation-resume", "post"): api_only(lead=400),  # nothing to resume
    ("api-generation-retry-failed", "post"): api_only(lead=400),  # nothing failed
    # An empty body is enough: the study gets a neutral name and the caller leads it.
    ("api-generation-to-study", "post"): api_only(lead=201),
    ("api-generation-card", "get"): api_only(lead=200),
    ("api-generation-card-md", "get"): api_only(lead=200),
    ("api-generation-transcripts", "get"): api_only(lead=200),
    # Model co-coder: the study's leads only. An empty body is invalid (400).
    ("api-judge-runs", "get"): api_only(lead=200),
    ("api-judge-runs", "post"): api_only(lead=400),
    ("api-judge-run", "get"): api_only(lead=200),
    ("api-judge-calibration", "get"): api_only(lead=200),
    ("api-judge-counts-as-coder", "post"): api_only(lead=400),
}
