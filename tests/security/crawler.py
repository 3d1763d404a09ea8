"""Shared by the tests of test_blinding_crawler.py and others."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve, reverse
from scipy.stats import chi2_contingency

from coding.blinding import VENDORS
from coding.models import Assignment, ConditionKey, Item, Membership, Study
from coding.services import score_autosave, score_submit, study_open
from tests.coding import api_matrix
from tests.coding.conftest import full_values
from tests.factories import make_personas
from tests.security.conftest import parse_page

MAX_PAGES = 400  # per user


MAX_PER_ROUTE = 8  # pages of one URL pattern (e.g. 180 coding pages: a sample is enough)


CRAWLERS = ("coder_a", "coder_b", "adjudicator")


EXTRA_VENDOR_WORDS = [
    "ChatGPT", "GPT-4", "GPT-4o", "Claude", "Gemini", "Llama", "Mistral", "Qwen",
    "openai_compatible", "served_model", "transcript_id", "run_id", "scaffold_version",
    "system prompt", "system_prompt",
]  # fmt: skip


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")


REQUEST_ID = re.compile(r"\b(?:chatcmpl|msg|req|resp|cmpl)[-_][A-Za-z0-9]{6,}")


@dataclass
class Generated:
    study: Study
    run: Any
    personas: Any
    forbidden: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    item_pks: set[int] = field(default_factory=set)


def _phrases(text: str) -> list[str]:
    """Distinctive pieces of a system prompt: its clauses of five or more words."""
    parts = re.split(r"[.:;,!?\n]+", text)
    return [p.strip() for p in parts if len(p.split()) >= 5]


def _forbidden(study: Study, run, personas) -> list[tuple[str, re.Pattern[str]]]:
    from transcripts.models import Transcript

    rubric_text = " ".join(
        [study.rubric.name]
        + [f"{d.name} {d.definition}" for d in study.rubric.dimensions.all()]
        + [
            lv.anchor + " " + lv.label
            for d in study.rubric.dimensions.all()
            for lv in d.levels.all()
        ]
    ).lower()
    # The run's name is checked on its own (test_coders_never_see_the_run_name).
    words: set[str] = set(VENDORS) | set(EXTRA_VENDOR_WORDS)
    for endpoint in run.endpoints.all():
        words |= {endpoint.name, endpoint.model, endpoint.provider}
    for scaffold in run.scaffolds.all():
        words |= {scaffold.name, scaffold.description, *_phrases(scaffold.system_prompt)}
    transcripts = Transcript.objects.filter(run=run)
    stamps: set[str] = set()  # generation times, to the microsecond (as JSON renders them)
    for t in transcripts:
        prov = t.provenance or {}
        words.add(str(prov.get("served_model") or ""))
        words |= set(REQUEST_ID.findall(json.dumps(prov)))
        stamps |= set(TIMESTAMP.findall(json.dumps(prov)))
        for value in (t.first_attempt_at, t.finished_at):
            if value is not None:
                naive = value.astimezone(dt.UTC).replace(tzinfo=None)
                stamps.add(naive.isoformat(timespec="microseconds"))
    words |= {i.external_id for i in Item.objects.filter(study=study)}
    # What the rubric itself says is shown to coders by design ("Specification", ...).
    words = {w for w in words if w and len(w) >= 3 and w.lower() not in rubric_text}
    # One alternation per kind: a single pass over each page instead of hundreds.
    patterns = [("name or metadata", _alternation(words, re.I))]
    patterns += [
        ("scaffold code", re.compile(r"\bC[1-4]\b")),
        ("prompt code", re.compile(r"\bP(?:0[1-9]|1[0-5])\b")),
        ("request id", REQUEST_ID),
        ("run id", re.compile(rf"\b(?:run|runs)[/ #-]+{run.pk}\b", re.I)),
    ]
    if stamps:
        patterns.append(("generation time", _alternation(stamps, bounded=False)))
    return patterns


def _alternation(words: set[str], flags: int = 0, bounded: bool = True) -> re.Pattern[str]:
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])" if bounded else body, flags)


def _other_usernames(personas, me: str) -> list[tuple[str, re.Pattern[str]]]:
    """Coders never learn who else codes (the lead's name is no secret)."""
    names = [n for n in ("coder_a", "coder_b", "adjudicator") if n != me]
    return [(n, re.compile(rf"\b{n}\b")) for n in names]


ITEM_PK_START = 700_000


TRANSCRIPT_PK_START = 800_000


def _start_ids_at(model, start: int) -> None:
    """Make the next primary key of ``model`` exceed ``start``, so the study's item and
    transcript ids are six-digit numbers no other id, count or version can be mistaken for."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, start])
        else:  # SQLite AUTOINCREMENT: the sequence never goes below the largest id used
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, %s) WHERE name = %s", [start, table]
            )
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT %s, %s WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = %s)",
                [table, start, table],
            )


def build_generated() -> Generated:
    from demo.generation import generate_demo_run, run_to_study
    from transcripts.models import Transcript

    _start_ids_at(Item, ITEM_PK_START)
    _start_ids_at(Transcript, TRANSCRIPT_PK_START)
    p = make_personas()
    run = generate_demo_run(lead=p.lead, n_prompts=15)
    study = run_to_study(run=run, by=p.lead, name="Blinded stress test", seed=20260523)
    for user, role in [
        (p.coder_a, Membership.Role.CODER),
        (p.coder_b, Membership.Role.CODER),
        (p.adjudicator, Membership.Role.ADJUDICATOR),
    ]:
        Membership.objects.create(study=study, user=user, role=role)
    study_open(study=study, by=p.lead)
    study.refresh_from_db()
    first = list(
        Assignment.objects.filter(item__study=study, coder=p.coder_a)
        .select_related("item__study")
        .order_by("position")[:9]
    )
    for n, a in enumerate(first[:8]):
        score_submit(
            assignment=a,
            values=full_values(study, 1),
            expected_version=a.version,
            by=p.coder_a,
        )
        b = Assignment.objects.select_related("item__study").get(item=a.item, coder=p.coder_b)
        score_submit(
            assignment=b,
            values=full_values(study, 1 + n % 2, "other"),
            expected_version=b.version,
            by=p.coder_b,
        )
    draft = first[8]
    score_autosave(
        assignment=draft,
        values={"D1": {"value": 2, "rationale": "draft"}},
        expected_version=draft.version,
        by=p.coder_a,
    )
    gen = Generated(study=study, run=run, personas=p)
    gen.forbidden = _forbidden(study, run, p)
    gen.item_pks = set(Item.objects.filter(study=study).values_list("pk", flat=True))
    gen.item_pks |= set(Transcript.objects.filter(run=run).values_list("pk", flat=True))
    assert min(gen.item_pks) > ITEM_PK_START, "the id offset did not take"
    return gen


URL_IN_TEXT = re.compile(r"""(?:https?://testserver)?(/[A-Za-z0-9_\-./%?=&]*)""")


NUMBER = re.compile(r"\b\d{6}\b")


def leaks(gen: Generated, me: str, url: str, body: str) -> list[str]:
    found = [
        f"{label}: {m.group(0)!r}"
        for label, pattern in gen.forbidden + _other_usernames(gen.personas, me)
        if (m := pattern.search(body))
    ]
    for match in URL_IN_TEXT.finditer(body):
        path = urlsplit(match.group(1)).path
        segments = [s for s in path.split("/") if s]
        for i, segment in enumerate(segments):
            # The study's own id after "studies" is the only number a URL may carry.
            if segment.isdigit() and not (i and segments[i - 1] == "studies"):
                found.append(f"number in a path: {path}")
    # Item and transcript ids are six-digit numbers here (see _start_ids_at): any such
    # number anywhere (JSON "id", data attributes, hidden inputs, text) is a leak.
    ids = [m.group(0) for m in NUMBER.finditer(body) if int(m.group(0)) in gen.item_pks]
    found += [f"item/transcript id {i}" for i in ids]
    return found


def _same_site(base: str, href: str) -> str | None:
    if not href or href.startswith(("#", "mailto:", "javascript:", "data:")):
        return None
    url = urljoin(base, href)
    parts = urlsplit(url)
    if parts.netloc not in ("", "testserver"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _route_name(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


def crawl_html(gen: Generated, client: Client, me: str) -> tuple[Counter[str], list[str]]:
    seen: set[str] = set()
    per_route: Counter[str] = Counter()
    fetched_routes: Counter[str] = Counter()
    queue = deque(["/", reverse("coding:queue", args=[gen.study.pk])])
    problems: list[str] = []
    fetched = 0
    while queue and fetched < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        name = _route_name(url) or "?"
        if name in ("logout", "login") or url.startswith(("/static/", "/admin/")):
            continue
        per_route[name] += 1
        if per_route[name] > MAX_PER_ROUTE:
            continue
        response = client.get(url)
        fetched += 1
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        if response.status_code == 200:
            fetched_routes[name] += 1
        if response.status_code in (301, 302):
            target = _same_site(url, response["Location"])
            if target:
                queue.append(target)
            continue
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        problems += [f"{url}: {leak}" for leak in leaks(gen, me, url, text)]
        if "html" not in response.get("Content-Type", ""):
            continue
        page = parse_page(text)
        for href in page.links + page.sources:
            target = _same_site(url, href)
            if target:
                queue.append(target)
        for form in page.forms:
            if form.method == "get":
                target = _same_site(url, form.action or url)
                if target:
                    query = urlencode({k: v for k, v in form.fields.items() if v})
                    queue.append(target.split("?")[0] + (f"?{query}" if query else ""))
    return fetched_routes, problems


def crawl_api(gen: Generated, client: Client, me: str) -> tuple[int, list[str]]:
    """Every /api/v1/ GET route with the user's study id and the codes the user has seen."""
    study = gen.study
    user = getattr(gen.personas, me)
    codes = list(
        Assignment.objects.filter(item__study=study, coder=user)
        .order_by("position")
        .values_list("item__public_code", flat=True)[:MAX_PER_ROUTE]
    )
    if not codes:  # the adjudicator: the items in reconciliation
        codes = list(
            Assignment.objects.filter(item__study=study, status="submitted")
            .values_list("item__public_code", flat=True)
            .distinct()[:MAX_PER_ROUTE]
        )
    base = {
        "study_id": study.pk,
        "rubric_id": study.rubric_id,
        "run_id": gen.run.pk,
        "endpoint_id": gen.run.endpoints.first().pk,
        "kind": "long",
        "judge_id": 1,  # co-coder routes: a member who is not a lead gets 404 for any run
    }
    urls: list[str] = []
    for route in api_matrix.api_routes():
        if not hasattr(route.pattern.callback.cls, "get"):
            continue
        names = list(route.pattern.pattern.converters)
        for code in codes if "code" in names else [None]:
            kwargs = base | {"code": code}
            urls.append(reverse(route.name, kwargs={k: kwargs[k] for k in names}))
    fetched, problems, seen = 0, [], set()
    queue = deque(urls)
    while queue and fetched < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, HTTP_ACCEPT="application/json")
        fetched += 1
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        problems += [f"{url}: {leak}" for leak in leaks(gen, me, url, text)]
        for match in re.finditer(r'"(http://testserver/api/v1/[^"]+)"', text):
            queue.append(urlsplit(match.group(1)).path + "?" + urlsplit(match.group(1)).query)
    return fetched, problems


# Pages each crawler must have reached with a 200, so a clean crawl means something.
MUST_REACH = {
    "coder_a": {"home": 1, "coding:queue": 1, "coding:code-item": 6},
    "coder_b": {"home": 1, "coding:queue": 1, "coding:code-item": 6},
    "adjudicator": {"home": 1, "coding:reconcile-queue": 1, "coding:reconcile-item": 4},
}


def contingency(labels: list[str], buckets: list[int]) -> dict[str, list[int]]:
    """Condition label -> item counts per bucket (code-rank or position quantile)."""
    table: dict[str, Counter[int]] = {}
    for label, bucket in zip(labels, buckets, strict=True):
        table.setdefault(label, Counter())[bucket] += 1
    columns = sorted(set(buckets))
    return {label: [row[c] for c in columns] for label, row in sorted(table.items())}


def independence_p(labels: list[str], buckets: list[int]) -> float:
    return chi2_contingency(list(contingency(labels, buckets).values())).pvalue


def quantile(rank: int, n: int, q: int) -> int:
    return rank * q // n


def conditions(study: Study) -> dict[str, tuple[str, str]]:
    return {
        code: (model, scaffold)
        for code, model, scaffold in ConditionKey.objects.filter(item__study=study).values_list(
            "item__public_code", "model", "scaffold"
        )
    }


FAMILY_ALPHA = 0.01


def independence_checks(gen: Generated) -> dict[str, float]:
    """p-values: public-code order and each coder's item order against the condition."""
    cond = conditions(gen.study)
    assert len(cond) == 180
    ordered = sorted(cond)
    labels = [f"{cond[c][0]}/{cond[c][1]}" for c in ordered]
    assert len(set(labels)) == 12
    checks = {"public codes": independence_p(labels, [quantile(i, 180, 3) for i in range(180)])}
    for me in ("coder_a", "coder_b"):
        codes = list(
            Assignment.objects.filter(item__study=gen.study, coder=getattr(gen.personas, me))
            .order_by("position")
            .values_list("item__public_code", flat=True)
        )
        assert len(codes) == 180
        buckets = [quantile(i, 180, 4) for i in range(180)]
        for factor, name in enumerate(("model", "scaffold")):
            checks[f"{me} order x {name}"] = independence_p(
                [cond[c][factor] for c in codes], buckets
            )
    return checks
