"""Coding views: roles, 404 for everyone else, the coder flow and the lead pages."""

import pytest
from django.urls import reverse

from coding.models import Assignment, Item
from tests.coding.conftest import as_jsonl, full_values, make_records


def _form(values, version):
    data = {"version": version}
    for code, entry in values.items():
        data[f"value_{code}"] = entry["value"]
        data[f"rationale_{code}"] = entry["rationale"]
    return data


def _coder_item(p, user):
    a = Assignment.objects.filter(item__study=p.study, coder=user).order_by("position").first()
    return a.item.public_code


def _urls(p, code):
    sid = p.study.pk
    return {
        "coder": [
            reverse("coding:queue", args=[sid]),
            reverse("coding:next-item", args=[sid]),
            reverse("coding:code-item", args=[sid, code]),
        ],
        "coder_post": [
            reverse("coding:save-item", args=[sid, code]),
            reverse("coding:submit-item", args=[sid, code]),
        ],
        "lead": [
            reverse("coding:study-detail", args=[sid]),
            reverse("coding:study-members", args=[sid]),
            reverse("coding:study-import", args=[sid]),
            reverse("coding:design-matrix", args=[sid]),
            reverse("coding:study-events", args=[sid]),
        ],
        "lead_post": [reverse("coding:study-open", args=[sid])],
    }


def test_outsiders_and_wrong_roles_get_404(open_study, client):
    p = open_study
    code = _coder_item(p, p.coder_a)
    urls = _urls(p, code)
    for user in (p.outsider, p.other_lead, p.adjudicator, p.lead):
        client.force_login(user)
        for url in urls["coder"]:
            assert client.get(url).status_code == 404, (user, url)
        for url in urls["coder_post"]:
            assert client.post(url, {}).status_code == 404, (user, url)
    for user in (p.outsider, p.other_lead, p.coder_a, p.adjudicator):
        client.force_login(user)
        for url in urls["lead"]:
            assert client.get(url).status_code == 404, (user, url)
        for url in urls["lead_post"]:
            assert client.post(url).status_code == 404, (user, url)
    # coder_b cannot open coder_a's item unless it is also theirs
    client.force_login(p.coder_b)
    if not Assignment.objects.filter(item__public_code=code, coder=p.coder_b).exists():
        assert client.get(urls["coder"][2]).status_code == 404


def test_anonymous_is_sent_to_login(open_study, client):
    url = reverse("coding:queue", args=[open_study.study.pk])
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_lead_pages_render(open_study, client, django_assert_max_num_queries):
    client.force_login(open_study.lead)
    for url in _urls(open_study, "x")["lead"]:
        with django_assert_max_num_queries(20):
            response = client.get(url)
        assert response.status_code == 200, url
    body = client.get(reverse("coding:study-detail", args=[open_study.study.pk])).content
    assert b"coder_a" in body and b"Progress per coder" in body


def test_design_matrix_csv(open_study, client):
    client.force_login(open_study.lead)
    response = client.get(reverse("coding:design-matrix", args=[open_study.study.pk]))
    text = b"".join(response.streaming_content).decode()
    lines = text.strip().splitlines()
    assert lines[0] == "item,coder,position"
    assert len(lines) == 1 + 24  # 12 items x k=2


def test_coder_flow_autosave_submit_next(open_study, client):
    p = open_study
    client.force_login(p.coder_a)
    queue = client.get(reverse("coding:queue", args=[p.study.pk]))
    assert b"0 of 12 coded" in queue.content
    code = _coder_item(p, p.coder_a)
    save = reverse("coding:save-item", args=[p.study.pk, code])
    r = client.post(save, {"version": 0, "value_D1": 2, "rationale_D1": "asks first"})
    assert r.status_code == 200 and b"Draft saved" in r.content
    conflict = client.post(save, {"version": 0, "value_D1": 0})
    assert conflict.status_code == 409 and b"another tab" in conflict.content
    page = client.get(reverse("coding:code-item", args=[p.study.pk, code])).content.decode()
    assert "asks first" in page
    submit = reverse("coding:submit-item", args=[p.study.pk, code])
    r = client.post(submit, _form(full_values(p.study), 1))
    # Submit goes straight to the coder's next open item, the same one /next/ picks.
    following = (
        Assignment.objects.filter(item__study=p.study, coder=p.coder_a, status="open")
        .order_by("position")
        .first()
    )
    item_url = reverse("coding:code-item", args=[p.study.pk, following.item.public_code])
    assert r.status_code == 302 and r["Location"] == item_url and code not in item_url
    assert client.get(reverse("coding:next-item", args=[p.study.pk]))["Location"] == item_url
    assert b"submitted." in client.get(item_url).content
    queue = client.get(reverse("coding:queue", args=[p.study.pk]))
    assert b"1 of 12 coded" in queue.content


def test_incomplete_submit_shows_error_and_keeps_input(open_study, client):
    p = open_study
    client.force_login(p.coder_a)
    code = _coder_item(p, p.coder_a)
    values = full_values(p.study)
    values["D3"]["value"] = ""
    r = client.post(reverse("coding:submit-item", args=[p.study.pk, code]), _form(values, 0))
    assert r.status_code == 400
    assert b"Score every dimension before submitting: D3" in r.content
    assert b"because D3" in r.content


def test_import_view_lists_row_errors_and_writes_nothing(personas, client):
    client.force_login(personas.lead)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = as_jsonl(make_records(3)) + b"\n{not json"
    upload = SimpleUploadedFile("items.jsonl", bad)
    r = client.post(reverse("coding:study-import", args=[personas.study.pk]), {"file": upload})
    assert r.status_code == 400
    assert b"Row 4: invalid JSON" in r.content and b"Nothing was imported" in r.content
    assert Item.objects.filter(study=personas.study).count() == 0
    good = SimpleUploadedFile("items.jsonl", as_jsonl(make_records(3)))
    r = client.post(reverse("coding:study-import", args=[personas.study.pk]), {"file": good})
    assert r.status_code == 302  # to the preview: still nothing written
    assert Item.objects.filter(study=personas.study).count() == 0
    r = client.post(r["Location"] + "confirm/")
    assert r.status_code == 302
    assert Item.objects.filter(study=personas.study).count() == 3


def test_oversize_upload_gets_413(personas, client, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    client.force_login(personas.lead)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("big.jsonl", b"x" * 5000)
    r = client.post(reverse("coding:study-import", args=[personas.study.pk]), {"file": upload})
    assert r.status_code == 413
    assert b"Upload too large" in r.content


@pytest.mark.parametrize("k_coders", [1])
def test_open_needs_enough_coders(personas, client, k_coders):
    from coding.models import Membership
    from coding.services import items_import

    Membership.objects.filter(study=personas.study, user=personas.coder_b).delete()
    items_import(study=personas.study, records=make_records(2), by=personas.lead)
    client.force_login(personas.lead)
    r = client.post(reverse("coding:study-open", args=[personas.study.pk]), follow=True)
    assert b"needs at least 2 coders" in r.content
    personas.study.refresh_from_db()
    assert personas.study.status == "draft"
