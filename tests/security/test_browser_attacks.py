"""Stored XSS in headless Chromium: hostile text in every field a user controls, rendered on
every HTML page of the access matrix (as a persona who may see it), with a dialog trap and
a request trap. Any alert/confirm/prompt, any request to a /trap URL or to another host,
any surviving event-handler attribute, htmx attribute pointing at a trap, javascript: link
or script carrying the payload fails the test.

Hostile fields: transcript content, rationales, reconciliation notes, study names and
descriptions, rubric names, dimension names, definitions, level labels and anchors, model
names in the condition key (charts after unblinding), benchmark names, descriptions,
citations and notes, claim texts, endpoint names and models, run names, transcript
provenance, import file names (event log), import row errors, and an uploaded
rank-instability CSV.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from coding.invites import InviteLine
from coding.models import Assignment, Item, Membership, Reconciliation, Study
from coding.services import (
    items_import,
    items_import_file,
    reconciliation_auto_agree,
    reconciliation_decide,
    rubric_create_from_data,
    score_submit,
    study_lock,
    study_open,
    study_unblind,
    upload_stage,
)
from coding.services.members import invites_create, member_remove
from tests.conftest import browser_login
from tests.factories import MembershipFactory, StudyFactory, make_personas
from tests.security.conftest import World
from tests.security.matrix import EXPECTED, html_routes, url_for

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process

# Each payload names itself (xss-...), so a payload shown as text is easy to spot.
PAYLOADS = [
    "<script>alert('xss-script')</script>",
    "<img src=/trap/img onerror=alert('xss-img')>",
    "<svg onload=alert('xss-svg')>",
    '<a hx-get="/trap/hx" hx-trigger="load">xss-hx</a>',
    "<div hx-on:load=\"alert('xss-hxon')\" hx-on::load=\"alert('xss-hxon2')\">x</div>",
    "[xss-md](javascript:alert('xss-md'))",
    "<a href=\"javascript:alert('xss-href')\">xss-href</a>",
    '"><script>alert("xss-break")</script>',
    "'><img src=/trap/break onerror=alert('xss-break2')>",
    '<iframe src="/trap/iframe"></iframe>',
    '<meta http-equiv="refresh" content="0;url=/trap/meta">',
    '<link rel="stylesheet" href="https://evil.example/trap.css">',
]
LONG = " ".join(PAYLOADS)
SHORT = "\"><img src=/trap/s onerror=alert('xss-s')><script>alert('xss-s2')</script>"  # 73
TINY = "<svg onload=alert('xss-t')>"  # fields of 30-60 characters


def hostile_rubric(p):
    levels = [{"value": v, "label": f"{v} {SHORT}", "anchor": LONG} for v in (0, 1, 2)]
    return rubric_create_from_data(
        data={
            "name": SHORT,
            "description": LONG,
            "dimensions": [
                {"code": f"D{i}", "name": f"Dim {i} {SHORT}", "definition": LONG, "levels": levels}
                for i in (1, 2)
            ],
        },
        by=p.lead,
    )


def hostile_records(n: int, prefix: str, *, document: bool = False) -> list[dict]:
    records = [
        {
            "id": f"{prefix}{i}-{TINY}",
            "messages": [
                {"role": "user", "content": LONG},
                {"role": "assistant", "content": LONG + " [xss-md2](javascript:alert(1))"},
            ],
            "model": f"m{i % 2} {TINY}",
            "scaffold": ["C1", "C2"][i % 2],
            "prompt": f"P{i:02d}",
            "specification": "under",
            "note": LONG,
        }
        for i in range(n)
    ]
    if document:
        records.append({"id": f"{prefix}-doc", "title": SHORT, "text": LONG, "model": TINY})
    return records


def submit_all(study: Study, coders, *, disagree: bool) -> None:
    dims = list(study.rubric.dimensions.all())
    for n, coder in enumerate(coders):
        for a in Assignment.objects.filter(item__study=study, coder=coder).select_related(
            "item__study"
        ):
            value = (n if disagree else 1) % 3
            values = {d.code: {"value": value, "rationale": f"{LONG} ({coder})"} for d in dims}
            score_submit(assignment=a, values=values, expected_version=a.version, by=coder)


@dataclass
class Hostile:
    world: World
    extra_pages: list[tuple[str, str]] = field(default_factory=list)


def _hostile_gold(p, rubric, code: str) -> str:
    """A gold item with a hostile explanation, submitted by coder_a in training mode."""
    from coding.services.gold import gold_set, quality_settings_update

    dims = list(rubric.dimensions.prefetch_related("levels"))
    expected = {d.code: min(lv.value for lv in d.levels.all()) for d in dims}
    gold_set(
        item=Item.objects.get(public_code=code),
        expected=expected,
        explanations={d.code: LONG[:4000] for d in dims},
        by=p.lead,
    )
    quality_settings_update(
        study=p.study,
        by=p.lead,
        gold_rate=0,
        training=True,
        qualification_items=0,
        pass_kappa=0.6,
    )
    a = Assignment.objects.select_related("item__study").get(
        item__public_code=code, coder=p.coder_a
    )
    values = {c: {"value": v, "rationale": LONG[:1000]} for c, v in expected.items()}
    score_submit(assignment=a, values=values, expected_version=a.version, by=p.coder_a)
    return code


def build_hostile() -> Hostile:
    from audit.services import benchmark_create, claim_statement_update
    from demo.generation import generate_demo_run
    from transcripts.models import GenerationRun, ModelEndpoint, Transcript

    p = make_personas()
    rubric = hostile_rubric(p)
    Study.objects.filter(pk=p.study.pk).update(rubric=rubric, name=SHORT, description=LONG)
    p.study.refresh_from_db()
    raw = "\n".join(json.dumps(r) for r in hostile_records(4, "o")).encode()
    items_import_file(study=p.study, raw=raw, filename=f"{TINY}.jsonl", by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    codes = sorted(Item.objects.filter(study=p.study).values_list("public_code", flat=True))
    disputed, open_code = codes[:2], codes[2]
    for n, coder in enumerate((p.coder_a, p.coder_b)):
        for code in disputed:
            a = Assignment.objects.select_related("item__study").get(
                item__public_code=code, coder=coder
            )
            values = {
                d.code: {"value": n, "rationale": f"{LONG} ({coder})"}
                for d in rubric.dimensions.all()
            }
            score_submit(assignment=a, values=values, expected_version=a.version, by=coder)
    reconciliation_decide(
        item=Item.objects.get(public_code=disputed[0]),
        dimension=rubric.dimensions.get(code="D1"),
        value=1,
        method="adjudicated",
        note=LONG[:1900],
        by=p.adjudicator,
    )
    # The unblinded study: hostile model names reach the key, charts and tables.
    done = StudyFactory(name=SHORT, description=LONG, rubric=rubric)
    for user, role in [
        (p.coder_a, Membership.Role.CODER),
        (p.coder_b, Membership.Role.CODER),
        (p.adjudicator, Membership.Role.ADJUDICATOR),
        (p.lead, Membership.Role.LEAD),
    ]:
        Membership.objects.create(study=done, user=user, role=role)
    items_import(study=done, records=hostile_records(4, "d", document=True), by=p.lead)
    study_open(study=done, by=p.lead)
    done.refresh_from_db()
    submit_all(done, [p.coder_a, p.coder_b], disagree=False)
    reconciliation_auto_agree(study=done)
    study_lock(study=done, by=p.lead)
    study_unblind(study=done, by=p.lead, reason=LONG[:500])
    done.refresh_from_db()
    assert Reconciliation.objects.filter(item__study=done).exists()
    # Generation: hostile run, endpoint and transcript (renamed after a real fake-server run).
    run = generate_demo_run(lead=p.lead, n_prompts=1)
    GenerationRun.objects.filter(pk=run.pk).update(name=SHORT)
    for n, endpoint in enumerate(run.endpoints.all()):
        ModelEndpoint.objects.filter(pk=endpoint.pk).update(name=f"{n}{TINY}", model=SHORT)
    transcript = run.transcripts.order_by("pk").first()
    Transcript.objects.filter(pk=transcript.pk).update(
        response_text=LONG,
        messages=[{"role": "user", "content": LONG}, {"role": "assistant", "content": LONG}],
        provenance={**transcript.provenance, "served_model": SHORT, "note": LONG},
        last_error=LONG,
    )
    benchmark = benchmark_create(by=p.lead, name=SHORT, description=LONG, citation=LONG, notes=LONG)
    claim_statement_update(
        study=p.study,
        by=p.lead,
        deployment_context=LONG,
        claim=LONG,
        model_evidence=LONG,
        benchmarks=[benchmark],
    )
    # A staged import: its preview shows the file's values (ids, conditions, text).
    staged = upload_stage(
        study=p.study,
        kind="items",
        raw="\n".join(json.dumps(r) for r in hostile_records(3, "s")).encode(),
        filename=f"{TINY}.jsonl",
        by=p.lead,
    )
    world = World(
        p=p,
        study=p.study,
        done=done,
        open_code=open_code,
        disputed=disputed,
        run=run,
        transcript=transcript,
        endpoint=run.endpoints.order_by("pk").first(),
        benchmark=benchmark,
        rubric=rubric,
        upload_token=staged.token,
    )
    # People: an open invitation, and a removed member whose reason is hostile.
    issued = invites_create(
        study=p.study, entries=[InviteLine(1, "invitee@lab.org", "coder")], by=p.lead
    )[0]
    leaver = MembershipFactory(study=p.study, role=Membership.Role.CODER)
    member_remove(membership=leaver, by=p.lead, reason=LONG[:1900])
    world.extra.update(
        gold_code=_hostile_gold(p, rubric, codes[3]),
        invite=issued.invite,
        invite_token=issued.token,
        member=Membership.objects.get(study=p.study, user=p.coder_a),
    )
    q = quote(SHORT, safe="")
    extra = [
        ("coder_a", f"/studies/{p.study.pk}/items/{open_code}/"),  # the editable form
        ("adjudicator", f"/studies/{done.pk}/reconcile/?status=all"),
        # Reflected: every query parameter a page reads, and the 404 page.
        ("anonymous", f"/login/?next={q}"),
        ("adjudicator", f"/studies/{p.study.pk}/reconcile/?dimension={q}&status={q}&page={q}"),
        ("lead", f"/studies/{done.pk}/key/?page={q}"),
        ("lead", f"/audit/benchmarks/audit-study/?benchmark={q}"),
        ("lead", f"/audit/rank-instability/?example={q}"),
        ("lead", f"/studies/{p.study.pk}/items/{q}/"),
        ("coder_a", f"/studies/{p.study.pk}/queue/?page={q}&ordering={q}"),
    ]
    return Hostile(world=world, extra_pages=extra)


# Pages that must show a payload as text (so the test sees the data it claims to test).
MUST_SHOW = {
    "coding:code-item",
    "coding:reconcile-item",
    "coding:study-detail",
    "coding:study-events",
    "coding:study-members",
    "coding:rubric-list",
    "coding:study-import-preview",
    "coding:condition-key",
    "audit:agreement",
    "audit:benchmark-list",
    "audit:claim-report",
    "audit:alignment-profiles",
    "transcripts:run-list",
    "transcripts:run-detail",
    "transcripts:transcript-detail",
    "transcripts:endpoint-list",
}
SKIP = {"login", "logout", "healthz"}


def pages_to_visit(h: Hostile) -> list[tuple[str, str, str]]:
    """(persona, route name, url) for every HTML page of the matrix."""
    visits = []
    for route in html_routes():
        if route.name in SKIP or route.route.endswith((".csv", ".json", ".md")):
            continue
        row = EXPECTED[route.name]
        persona = next(
            (p for p in ("lead", "adjudicator", "coder_a") if row.get[p] in (200, 302)), None
        )
        if persona is None:
            continue
        visits.append((persona, route.name, url_for(h.world, route.name, row)))
    visits += [(persona, "extra", url) for persona, url in h.extra_pages]
    return visits


INERT_CHECK = """() => {
  const bad = [];
  const sel = '[onerror],[onload],[onclick],[onmouseover],[onfocus],[hx-on\\\\:load],'
    + '[hx-on\\\\:\\\\:load],[src*="trap"],[href*="trap"],[hx-get*="trap"],'
    + 'a[href^="javascript:" i],iframe,meta[http-equiv="refresh" i]';
  for (const el of document.querySelectorAll(sel)) bad.push(el.outerHTML.slice(0, 120));
  for (const s of document.querySelectorAll('script')) {
    if (s.textContent.includes('xss')) bad.push(s.outerHTML.slice(0, 120));
  }
  for (const a of document.querySelectorAll('svg *')) {
    for (const attr of a.getAttributeNames()) if (attr.startsWith('on')) bad.push(a.outerHTML);
  }
  return bad;
}"""


class Traps:
    def __init__(self, page, base: str) -> None:
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        host = urlsplit(base).netloc
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def guard(route) -> None:
            url = route.request.url
            if "/trap" in url or urlsplit(url).netloc != host:
                self.requests.append(url)
                route.abort()
            else:
                route.continue_()

        page.route("**/*", guard)


def test_stored_xss_is_inert_on_every_page(
    browser_instance, live_server, transactional_db, settings, screenshot_dir
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    h = build_hostile()
    visits = pages_to_visit(h)
    assert len(visits) >= 35
    pages, traps = {}, {}
    for persona in sorted({v[0] for v in visits}):
        context = browser_instance.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.base = live_server.url
        page.set_default_timeout(15_000)
        traps[persona] = Traps(page, live_server.url)
        if persona != "anonymous":
            browser_login(page, persona)
        pages[persona] = page
    failures, shown = [], set()
    try:
        for persona, name, url in visits:
            page = pages[persona]
            # Inline scripts, handlers and htmx "load" triggers all run by the load event;
            # the short wait lets htmx issue any request it was tricked into.
            try:
                page.goto(live_server.url + url, wait_until="load")
                page.wait_for_timeout(30)
                bad = page.evaluate(INERT_CHECK)
                text = page.inner_text("body")
            except PlaywrightError as exc:  # e.g. a planted meta refresh navigated away
                failures.append(f"{url} as {persona}: {exc.message.splitlines()[0]}")
                continue
            if bad:
                failures.append(f"{url} as {persona}: live markup {bad[:3]}")
            if "xss" in text:
                shown.add(name)
        failures += upload_attacks(pages["lead"], live_server.url, h)
        for persona, trap in traps.items():
            if trap.dialogs:
                failures.append(f"dialogs as {persona}: {trap.dialogs}")
            if trap.requests:
                failures.append(f"trapped requests as {persona}: {sorted(set(trap.requests))}")
        pages["coder_a"].goto(live_server.url + h.extra_pages[0][1])
        pages["coder_a"].screenshot(path=str(screenshot_dir / "security-xss-coder.png"))
    finally:
        for page in pages.values():
            page.context.close()
    assert not failures, "\n".join(failures)
    assert shown >= MUST_SHOW, f"payloads not shown on {sorted(MUST_SHOW - shown)}"


def upload_attacks(page, base: str, h: Hostile) -> list[str]:
    """Hostile text that only appears in a POST response: import row errors and the
    rank-instability page built from an uploaded CSV."""
    failures = []
    dup = {"id": SHORT, "messages": [{"role": "user", "content": "x"}]}
    bad_rows = "\n".join([json.dumps(dup), json.dumps(dup), "{" + SHORT]).encode()
    page.goto(f"{base}/studies/{h.world.study.pk}/import/")
    page.set_input_files(
        "input[type=file]",
        files=[{"name": f"{TINY}.jsonl", "mimeType": "application/json", "buffer": bad_rows}],
    )
    page.click("form[enctype] button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "xss" not in page.inner_text("body"):
        failures.append("import errors do not show the hostile id (nothing was tested)")
    if page.evaluate(INERT_CHECK):
        failures.append(f"import errors: {page.evaluate(INERT_CHECK)[:3]}")
    rows = ["config,model,benchmark,score"]
    for c, config in enumerate((SHORT, TINY)):
        for m, model in enumerate((TINY, "b2")):
            rows.append(f'"{config}","{model}","{SHORT}",{0.5 + 0.1 * ((c + m) % 2)}')
            rows.append(f'"{config}","{model}",bench2,{0.5 + 0.1 * ((c + m + 1) % 2)}')
    page.goto(f"{base}/audit/rank-instability/")
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "ranks.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}],
    )
    page.click("form[enctype] button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "xss" not in page.inner_text("body"):
        failures.append("rank instability does not show the hostile names (nothing was tested)")
    if page.evaluate(INERT_CHECK):
        failures.append(f"rank instability: {page.evaluate(INERT_CHECK)[:3]}")
    return failures
