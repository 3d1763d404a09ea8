"""Fixtures for the security suite: one "world" with every kind of object a URL can name.

``world`` holds the personas' study (open: some items submitted by both coders with
disagreements, so the reconciliation pages have content), a second study with the same
members that is coded, reconciled, locked and unblinded (condition-key and analysis pages),
a finished generation run owned by the lead (3 fake endpoints x 4 scaffolds x 1 prompt),
a benchmark, and the study's rubric. URL kwargs for the access matrix and the CSRF sweep
come from ``world.kwargs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from coding.invites import InviteLine
from coding.models import Assignment, Item, Membership, Rubric, Study
from coding.services import (
    items_import,
    reconciliation_auto_agree,
    score_submit,
    study_lock,
    study_open,
    study_unblind,
    upload_stage,
)
from coding.services.members import invites_create
from tests.coding.conftest import as_jsonl, full_values, make_records
from tests.factories import Personas, add_operator, make_personas

PERSONAS = (
    "anonymous",
    "outsider",
    "coder_a",
    "coder_b",
    "adjudicator",
    "lead",
    "other_lead",
    "operator",  # generation operator of the open study
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Personas hash seven passwords; PBKDF2 would cost seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_snapshot_on_submit(quiet_submissions) -> None:
    """Agreement snapshots are the audit app's business; skip the per-submit refresh."""


def submit(study: Study, coder, codes: list[str], value: int, note: str = "because") -> None:
    """Submit ``coder``'s scores (every dimension = ``value``) for the items ``codes``."""
    for code in codes:
        assignment = Assignment.objects.select_related("item__study").get(
            item__study=study, item__public_code=code, coder=coder
        )
        score_submit(
            assignment=assignment,
            values=full_values(study, value, note),
            expected_version=assignment.version,
            by=coder,
        )


def codes_of(study: Study) -> list[str]:
    return list(
        Item.objects.filter(study=study)
        .order_by("public_code")
        .values_list("public_code", flat=True)
    )


def build_unblinded(p: Personas, *, name: str = "Finished study", n: int = 4) -> Study:
    """A study with the personas' roles, fully coded (both agree), locked and unblinded."""
    from tests.factories import StudyFactory

    study = StudyFactory(name=name)
    for user, role in [
        (p.coder_a, Membership.Role.CODER),
        (p.coder_b, Membership.Role.CODER),
        (p.adjudicator, Membership.Role.ADJUDICATOR),
        (p.lead, Membership.Role.LEAD),
    ]:
        Membership.objects.create(study=study, user=user, role=role)
    items_import(study=study, records=make_records(n, prefix="done"), by=p.lead)
    study_open(study=study, by=p.lead)
    study.refresh_from_db()
    codes = codes_of(study)
    submit(study, p.coder_a, codes, 1)
    submit(study, p.coder_b, codes, 1)
    reconciliation_auto_agree(study=study)
    study_lock(study=study, by=p.lead)
    study_unblind(study=study, by=p.lead, reason="security fixture")
    study.refresh_from_db()
    return study


@dataclass
class World:
    p: Personas
    study: Study  # open; ``disputed`` items submitted by both coders with different values
    done: Study  # unblinded, same members
    open_code: str  # an item nobody has submitted yet
    disputed: list[str]
    run: Any
    transcript: Any
    endpoint: Any
    benchmark: Any
    rubric: Rubric
    upload_token: str = ""  # an items file the lead staged (import preview step)
    extra: dict[str, Any] = field(default_factory=dict)

    def kwargs(self, study: str = "open") -> dict[str, Any]:
        """Values for every URL converter name used by the project's HTML routes."""
        target = self.done if study == "done" else self.study
        code = codes_of(target)[0] if study == "done" else self.disputed[0]
        return {
            "study_id": target.pk,
            "code": code,
            "rubric_id": self.rubric.pk,
            "benchmark_id": self.benchmark.pk,
            "run_id": self.run.pk,
            "transcript_id": self.transcript.pk,
            "endpoint_id": self.endpoint.pk,
            "proposal_id": self.extra["proposal"].pk if "proposal" in self.extra else 0,
            "kind": "long",
            "check_id": self.extra.get("check_id", 0),
            "rule_id": self.extra.get("rule_id", 0),
            "invite_id": self.extra["invite"].pk,
            "member_id": self.extra["member"].pk,
            "token": self.extra["invite_token"],
            "upload_token": self.upload_token,
            "judge_id": self.extra["judge"].pk if "judge" in self.extra else 0,
        }

    def user(self, persona: str):
        return None if persona == "anonymous" else getattr(self.p, persona)

    def client(self, persona: str, **options) -> Client:
        client = Client(**options)
        if persona != "anonymous":
            client.force_login(getattr(self.p, persona))
        return client


def _gold_item_with_feedback(p: Personas, code: str) -> str:
    """Make ``code`` a gold item in training mode and let coder_a submit it, so coder_a
    (only) has training feedback to read."""
    from coding.models import Item
    from coding.services.gold import gold_set, quality_settings_update

    values = {d.code: 1 for d in p.study.rubric.dimensions.all()}
    gold_set(item=Item.objects.get(public_code=code), expected=values, by=p.lead)
    quality_settings_update(
        study=p.study,
        by=p.lead,
        gold_rate=0,
        training=True,
        qualification_items=0,
        pass_kappa=0.6,
    )
    submit(p.study, p.coder_a, [code], 1)
    return code


def build_world(p: Personas | None = None, *, n_items: int = 6) -> World:
    from audit.registry import benchmark_propose
    from audit.services import benchmark_create
    from demo.generation import generate_demo_run

    p = p or make_personas()
    if not hasattr(p, "operator"):
        p.operator = add_operator(p)
    items_import(study=p.study, records=make_records(n_items), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    codes = codes_of(p.study)
    disputed, open_code = codes[:2], codes[-1]
    submit(p.study, p.coder_a, disputed, 1)
    submit(p.study, p.coder_b, disputed, 2)
    gold_code = _gold_item_with_feedback(p, codes[2])
    done = build_unblinded(p)
    run = generate_demo_run(lead=p.lead, n_prompts=1)
    benchmark = benchmark_create(by=p.lead, name="Security bench", description="A benchmark.")
    staged = upload_stage(
        study=p.study,
        kind="items",
        raw=as_jsonl(make_records(2, prefix="staged")),
        filename="staged.jsonl",
        by=p.lead,
    )
    from audit.models import BlindingCheck
    from coding.models import ScrubRule

    check = BlindingCheck.objects.create(study=p.study, requested_by=p.lead, status="done")
    rule = ScrubRule.objects.create(study=p.study, kind="name", text="Kestrel", added_by=p.lead)
    proposal = benchmark_propose(
        benchmark=benchmark, by=p.other_lead, note="A source.", description="Proposed."
    )
    issued = invites_create(
        study=p.study, entries=[InviteLine(1, "invitee@lab.org", "coder")], by=p.lead
    )[0]
    member = Membership.objects.get(study=p.study, user=p.coder_a)
    from transcripts.judge_services import judge_run_create

    # A model co-coder run on the open study (never driven: its cells stay pending).
    judge = judge_run_create(
        study=p.study, endpoint=run.endpoints.order_by("pk").first(), by=p.lead, dispatch=False
    )
    # One pair for the pairwise routes, under the disputed item's code (pair codes are
    # their own namespace), given to both coders on opposite sides.
    from coding.models import Pair, PairAssignment

    first, second = Item.objects.filter(study=p.study).order_by("pk")[:2]
    pair = Pair.objects.create(study=p.study, public_code=disputed[0], first=first, second=second)
    for coder, left in ((p.coder_a, True), (p.coder_b, False)):
        PairAssignment.objects.create(pair=pair, coder=coder, position=0, first_on_left=left)
    return World(
        extra={
            "check_id": check.pk,
            "rule_id": rule.pk,
            "invite": issued.invite,
            "invite_token": issued.token,
            "member": member,
            "proposal": proposal,
            "gold_code": gold_code,
            "judge": judge,
        },
        p=p,
        study=p.study,
        done=done,
        open_code=open_code,
        disputed=disputed,
        run=run,
        transcript=run.transcripts.order_by("pk").first(),
        endpoint=run.endpoints.order_by("pk").first(),
        benchmark=benchmark,
        rubric=p.study.rubric,
        upload_token=staged.token,
    )


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once per module inside a transaction that is rolled back at the module's end.

    Each test's own ``db`` transaction nests inside it (a savepoint), so tests still see
    the world exactly as built, whatever the previous test wrote.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(_module_world, db) -> World:
    for obj in (_module_world.study, _module_world.done, _module_world.run):
        obj.refresh_from_db()
    return _module_world


# --- HTML parsing shared by the attack corpus and the blinding crawler -----------------------


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: dict[str, str]
    file_fields: list[str]


@dataclass
class Page:
    links: list[str] = field(default_factory=list)  # a[href], link[href], hx-get/hx-post...
    forms: list[Form] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # script/img/iframe src


class _Parser(HTMLParser):
    LINK_ATTRS = ("href", "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete", "action")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("a", "link") and a.get("href"):
            self.page.links.append(a["href"])
        for name in self.LINK_ATTRS[1:6]:
            if a.get(name):
                self.page.links.append(a[name])
        if tag in ("script", "img", "iframe", "source") and a.get("src"):
            self.page.sources.append(a["src"])
        if tag == "form":
            self._form = Form(
                action=a.get("action", ""),
                method=(a.get("method") or "get").lower(),
                enctype=a.get("enctype", ""),
                fields={},
                file_fields=[],
            )
            self.page.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea", "button"):
            name = a.get("name")
            if not name:
                return
            if a.get("type") == "file":
                self._form.file_fields.append(name)
            elif a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self._form.fields.setdefault(name, "")
            else:
                self._form.fields[name] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def parse_page(html: str) -> Page:
    parser = _Parser()
    parser.feed(html)
    return parser.page


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    from tests.security.crawler import build_generated

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_generated()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def gen(generated, db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return generated
