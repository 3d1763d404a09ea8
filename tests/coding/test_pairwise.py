"""Pairwise studies: pair design, sides, submission, blinding and who may see what."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.urls import reverse

from coding.models import Event, Pair, PairAssignment, PairJudgment, Study
from coding.pairing import Candidate, pair_design, sides
from coding.services import Conflict, ServiceError, pair_judgment_submit, study_open
from tests.coding.pairwise_data import PW_MODELS, PW_SCAFFOLDS, all_choices, open_pairwise


@pytest.fixture
def pw(personas):
    open_pairwise(personas)
    return personas


def test_pair_design_same_prompt_and_scaffold_different_models():
    cands = [
        Candidate(f"{p}{s}{m}{r}", p, m, s, r)
        for p in "XY"
        for s in ("C1", "C2")
        for m in ("m1", "m2", "m3")
        for r in (1, 2)
    ]
    pairs = pair_design(cands)
    by_item = {c.item: c for c in cands}
    # 2 prompts x 2 scaffolds x 3 model pairs x 2 replicates
    assert len(pairs) == 24
    for p in pairs:
        a, b = by_item[p.first], by_item[p.second]
        assert (a.prompt, a.scaffold, a.replicate) == (b.prompt, b.scaffold, b.replicate)
        assert a.model != b.model
    assert set(Counter(p.label for p in pairs).values()) == {4}  # balanced


def test_pair_design_skips_items_without_model_or_partner():
    cands = [
        Candidate(1, "X", "m1", "C1"),
        Candidate(2, "X", "", "C1"),
        Candidate(3, "Y", "m2", "C1"),
    ]
    assert pair_design(cands) == []


def test_sides_alternate_within_each_pair_and_are_seeded():
    coders = {pair: ["u1", "u2", "u3", "u4"] for pair in range(50)}
    left = sides(coders, seed=7)
    assert left == sides(coders, seed=7)
    for pair in range(50):
        assert sum(left[(pair, c)] for c in coders[pair]) == 2
    per_coder = Counter(c for (pair, c), first in left.items() if first)
    assert all(10 <= n <= 40 for n in per_coder.values())  # randomised per coder


def test_open_makes_balanced_pairs_for_k_coders(pw):
    study = pw.study
    pairs = Pair.objects.filter(study=study).select_related(
        "first__condition_key", "second__condition_key"
    )
    assert pairs.count() == 3 * len(PW_SCAFFOLDS) * 3
    for pair in pairs:
        a, b = pair.first.condition_key, pair.second.condition_key
        assert a.prompt == b.prompt and a.scaffold == b.scaffold and a.model != b.model
        assignments = list(pair.assignments.all())
        assert len(assignments) == 2
        assert {x.coder_id for x in assignments} == {pw.coder_a.pk, pw.coder_b.pk}
        assert sorted(x.first_on_left for x in assignments) == [False, True]
    assert not study.items.filter(assignments__isnull=False).exists()
    assert Event.objects.filter(study=study, verb="assign", payload__pairs=18).exists()


def test_open_refuses_when_no_pair_can_be_formed(personas):
    from coding.services import items_import

    Study.objects.filter(pk=personas.study.pk).update(kind=Study.Kind.PAIRWISE)
    personas.study.refresh_from_db()
    records = [
        {"id": "x", "model": "m", "scaffold": "C1", "prompt": "P",
         "messages": [{"role": "user", "content": "hi"}]}
    ]  # fmt: skip
    items_import(study=personas.study, records=records, by=personas.lead)
    with pytest.raises(ServiceError, match="No pair can be formed"):
        study_open(study=personas.study, by=personas.lead)
    personas.study.refresh_from_db()
    assert personas.study.status == Study.Status.DRAFT


def test_submit_locks_choices_and_replay_is_a_noop(pw):
    a = PairAssignment.objects.filter(coder=pw.coder_a).select_related("pair__study").first()
    choices = all_choices(pw.study, "A") | {"D2": "tie", "D3": "B"}
    done = pair_judgment_submit(assignment=a, choices=choices, expected_version=0, by=pw.coder_a)
    assert done.status == PairAssignment.Status.SUBMITTED
    stored = dict(
        PairJudgment.objects.filter(assignment=a).values_list("dimension__code", "choice")
    )
    assert stored == choices
    a.refresh_from_db()
    pair_judgment_submit(assignment=a, choices=choices, expected_version=0, by=pw.coder_a)
    with pytest.raises(Conflict):
        pair_judgment_submit(
            assignment=a, choices=all_choices(pw.study, "B"), expected_version=1, by=pw.coder_a
        )
    assert Event.objects.filter(verb="pair_submit", target=a.pair.public_code).count() == 1


@pytest.mark.parametrize(
    "change",
    [{"D1": "left"}, {"D1": None}, {"D9": "A"}, {"D1": ["A"]}],
)
def test_submit_refuses_bad_choices(pw, change):
    a = PairAssignment.objects.filter(coder=pw.coder_a).select_related("pair__study").first()
    with pytest.raises(ServiceError):
        pair_judgment_submit(
            assignment=a, choices=all_choices(pw.study) | change, expected_version=0, by=pw.coder_a
        )
    choices = all_choices(pw.study)
    del choices["D8"]
    with pytest.raises(ServiceError, match="missing D8"):
        pair_judgment_submit(assignment=a, choices=choices, expected_version=0, by=pw.coder_a)


def test_stale_version_is_a_conflict(pw):
    a = PairAssignment.objects.filter(coder=pw.coder_a).select_related("pair__study").first()
    with pytest.raises(Conflict):
        pair_judgment_submit(
            assignment=a, choices=all_choices(pw.study), expected_version=3, by=pw.coder_a
        )


# --- pages ---------------------------------------------------------------------------


def _pair_url(study, code, name="coding:code-pair"):
    return reverse(name, args=[study.pk, code])


def test_coder_pages_show_both_sides_blinded(pw, client):
    client.force_login(pw.coder_a)
    queue = client.get(reverse("coding:queue", args=[pw.study.pk]), follow=True)
    assert queue.status_code == 200 and b"Your pairs" in queue.content
    forbidden = {"OpenAI", "chatcmpl-", "run-secret", *PW_MODELS}
    for a in PairAssignment.objects.filter(coder=pw.coder_a).select_related("pair"):
        response = client.get(_pair_url(pw.study, a.pair.public_code))
        assert response.status_code == 200
        body = response.content.decode()
        for secret in forbidden:
            assert secret not in body, secret
        for scaffold in PW_SCAFFOLDS:
            assert not re.search(rf"\b{scaffold}\b", body), scaffold
        # item codes and ids are not shown: only the pair's code
        for item in (a.pair.first, a.pair.second):
            assert item.public_code not in body
            assert f"/{item.pk}/" not in body.replace(f"/{pw.study.pk}/", "/S/")
        assert body.count('class="side-label"') == 2


def test_sides_follow_the_recorded_assignment(pw, client):
    a = (
        PairAssignment.objects.filter(coder=pw.coder_a)
        .select_related("pair__first", "pair__second")
        .first()
    )
    b = PairAssignment.objects.get(pair=a.pair, coder=pw.coder_b)
    assert a.first_on_left != b.first_on_left
    prompt_text = a.pair.first.content["messages"][0]["content"]
    bodies = {}
    for coder, asg in ((pw.coder_a, a), (pw.coder_b, b)):
        client.force_login(coder)
        bodies[coder.pk] = client.get(_pair_url(pw.study, a.pair.public_code)).content.decode()
        assert prompt_text in bodies[coder.pk]
    first_text = re.search(r"Variant marker \d+x", a.pair.first.content["messages"][1]["content"])[
        0
    ]
    # The first item's answer is in the left column for one coder and the right for the other.
    positions = {
        pk: body.index('id="side-b"') < body.index(first_text) for pk, body in bodies.items()
    }
    assert positions[pw.coder_a.pk] == (not a.first_on_left)
    assert positions[pw.coder_b.pk] == (not b.first_on_left)


def test_submit_form_posts_choices_and_moves_on(pw, client):
    client.force_login(pw.coder_a)
    a = PairAssignment.objects.filter(coder=pw.coder_a).order_by("position").first()
    data = {f"choice_{k}": v for k, v in all_choices(pw.study, "B").items()} | {"version": 0}
    response = client.post(_pair_url(pw.study, a.pair.public_code, "coding:submit-pair"), data)
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.status == PairAssignment.Status.SUBMITTED
    nxt = (
        PairAssignment.objects.filter(coder=pw.coder_a, status="open").order_by("position").first()
    )
    assert response["Location"] == _pair_url(pw.study, nxt.pair.public_code)
    incomplete = {"choice_D1": "A", "version": 0}
    response = client.post(
        _pair_url(pw.study, nxt.pair.public_code, "coding:submit-pair"), incomplete
    )
    assert response.status_code == 400 and b"every dimension" in response.content
    assert b'value="A" aria-label="D1: A is better" checked' in response.content


def test_other_coders_pages_unchanged_by_a_submission(pw, client):
    client.force_login(pw.coder_a)
    a = PairAssignment.objects.filter(coder=pw.coder_a).first()
    url = _pair_url(pw.study, a.pair.public_code)
    csrf = re.compile(r'(name="csrfmiddlewaretoken" value="|name="csrf-token" content=")[^"]+"')
    before = csrf.sub("", client.get(url).content.decode())
    b = PairAssignment.objects.get(pair=a.pair, coder=pw.coder_b)
    pair_judgment_submit(
        assignment=b, choices=all_choices(pw.study, "B"), expected_version=0, by=pw.coder_b
    )
    client.force_login(pw.coder_a)
    assert csrf.sub("", client.get(url).content.decode()) == before


@pytest.mark.parametrize("who", ["adjudicator", "lead", "outsider", "other_lead"])
def test_non_coders_get_404_on_pair_pages(pw, client, who):
    client.force_login(getattr(pw, who))
    code = PairAssignment.objects.filter(coder=pw.coder_a).first().pair.public_code
    for url in (
        reverse("coding:pair-queue", args=[pw.study.pk]),
        reverse("coding:next-pair", args=[pw.study.pk]),
        _pair_url(pw.study, code),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(_pair_url(pw.study, code, "coding:submit-pair"), {"version": 0}).status_code
        == 404
    )


def test_coder_cannot_open_a_pair_of_the_other_coder_only(pw, client):
    from coding.models import Membership

    extra = type(pw.coder_a).objects.create(username="coder_c")
    Membership.objects.create(study=pw.study, user=extra, role=Membership.Role.CODER)
    client.force_login(extra)
    code = PairAssignment.objects.filter(coder=pw.coder_a).first().pair.public_code
    assert client.get(_pair_url(pw.study, code)).status_code == 404
    for junk in ("A%00B", "x" * 40, "%F0%9F%98%80"):
        assert client.get(f"/studies/{pw.study.pk}/pairs/{junk}/").status_code == 404


def test_progress_counts_pairs_for_the_coder_and_the_lead(pw, client):
    a = PairAssignment.objects.filter(coder=pw.coder_a).select_related("pair__study").first()
    pair_judgment_submit(
        assignment=a, choices=all_choices(pw.study), expected_version=0, by=pw.coder_a
    )
    client.force_login(pw.coder_a)
    assert "1 of 18 of your items coded" in client.get(reverse("home")).content.decode()
    client.force_login(pw.lead)
    progress = client.get(reverse("coding:study-detail", args=[pw.study.pk])).context["progress"]
    assert [(p.username, p.done, p.total) for p in progress] == [
        ("coder_a", 1, 18),
        ("coder_b", 0, 18),
    ]


def test_create_a_pairwise_study_from_the_form_and_the_api(personas, client):
    from rest_framework.test import APIClient

    client.force_login(personas.lead)
    body = {"name": "Pairs", "rubric": personas.study.rubric_id, "coders_per_item": 2}
    response = client.post(reverse("coding:study-create"), body | {"kind": "pairwise"})
    assert response.status_code == 302
    assert Study.objects.get(name="Pairs").kind == Study.Kind.PAIRWISE
    assert client.post(reverse("coding:study-create"), body | {"kind": "x"}).status_code == 200
    api = APIClient()
    api.force_login(personas.lead)
    made = api.post(reverse("api-study-list"), body | {"kind": "pairwise"}, format="json")
    assert made.status_code == 201 and made.json()["kind"] == "pairwise"
    bad = api.post(reverse("api-study-list"), body | {"kind": "both"}, format="json")
    assert bad.status_code == 400


def test_four_coders_share_every_configuration_pair_evenly(personas):
    from coding.models import Membership
    from tests.factories import UserFactory

    for name in ("coder_c", "coder_d"):
        Membership.objects.create(
            study=personas.study, user=UserFactory(username=name), role="coder"
        )
    study = open_pairwise(personas)
    rows = PairAssignment.objects.filter(pair__study=study).values_list(
        "coder_id",
        "first_on_left",
        "pair__first__condition_key__scaffold",
        "pair__first__condition_key__model",
        "pair__second__condition_key__model",
    )
    per_coder = Counter(r[0] for r in rows)
    assert sorted(per_coder.values()) == [9, 9, 9, 9]  # 18 pairs x k=2 over 4 coders
    per_label = Counter((r[0], r[2], *sorted(r[3:])) for r in rows)
    labels = {k[1:] for k in per_label}
    assert len(labels) == 6
    for coder in per_coder:
        counts = [per_label.get((coder, *label), 0) for label in labels]
        assert max(counts) - min(counts) <= 1, counts  # 6 placements per label, 4 coders
    left = Counter(r[0] for r in rows if r[1])
    assert sum(left.values()) == 18  # each pair: one coder sees its first item on the left


def test_pair_pages_query_counts(pw, client, django_assert_max_num_queries):
    client.force_login(pw.coder_a)
    code = PairAssignment.objects.filter(coder=pw.coder_a).first().pair.public_code
    with django_assert_max_num_queries(12):
        assert client.get(reverse("coding:pair-queue", args=[pw.study.pk])).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(_pair_url(pw.study, code)).status_code == 200


def test_items_imported_into_an_open_pairwise_study_join_new_pairs(pw):
    from coding.models import Assignment
    from coding.services import items_import
    from tests.coding.pairwise_data import pairwise_records

    before = dict(PairAssignment.objects.values_list("pk", "position"))
    records = [
        r | {"id": r["id"] + "-new", "prompt": "P04"}
        for r in pairwise_records()
        if r["prompt"] == "P01"
    ]
    items_import(study=pw.study, records=records, by=pw.lead)
    assert Pair.objects.filter(study=pw.study).count() == 18 + 6
    assert (
        dict(PairAssignment.objects.filter(pk__in=before).values_list("pk", "position")) == before
    )
    new = PairAssignment.objects.exclude(pk__in=before)
    assert new.count() == 12
    for coder in (pw.coder_a, pw.coder_b):
        positions = sorted(new.filter(coder=coder).values_list("position", flat=True))
        assert positions == list(range(18, 24))  # appended after the existing work
    assert not Assignment.objects.filter(item__study=pw.study).exists()
