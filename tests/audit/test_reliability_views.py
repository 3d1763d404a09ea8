"""G study and rankings pages (issue 19): access, numbers equal to the stats modules, exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.stats.bradley_terry import bradley_terry, read_bt_csv
from audit.stats.gtheory import GScore, g_study
from coding.models import Assignment, Score

pytestmark = pytest.mark.django_db

CONTESTS = (
    "winner,loser,count,configuration\n"
    "A,B,3,greedy\nB,A,1,greedy\nA,C,2,greedy\nC,A,1,greedy\nB,C,2,greedy\nC,B,1,greedy\n"
    "B,A,3,sampled\nA,B,1,sampled\nA,C,2,sampled\nC,A,1,sampled\nB,C,2,sampled\nC,B,1,sampled\n"
)


def test_g_study_is_lead_only(coded, client):
    p = coded
    url = reverse("audit:g-study", args=[p.study.pk])
    for user in (p.outsider, p.other_lead, p.coder_a, p.coder_b, p.adjudicator):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
        assert client.get(url + "?format=json").status_code == 404, user
    client.force_login(p.lead)
    assert client.get(url).status_code == 200
    assert client.get(reverse("audit:g-study", args=[p.other_study.pk])).status_code == 404


def test_g_study_page_equals_the_stats_module(coded, client):
    p = coded
    client.force_login(p.lead)
    scores = Score.objects.filter(
        assignment__item__study=p.study, assignment__status=Assignment.Status.SUBMITTED
    ).values_list("assignment__item_id", "assignment__coder_id", "dimension__code", "value")
    expected = g_study([GScore(str(i), str(c), d, float(v)) for i, c, d, v in scores])
    response = client.get(reverse("audit:g-study", args=[p.study.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg") == 3 and 'id="across"' in html
    shown = {d["name"]: d for d in response.context["dims"]}
    assert set(shown) == set(expected["dimensions"])
    for name, dim in expected["dimensions"].items():
        assert shown[name]["variance_components"] == dim["variance_components"]
        assert shown[name]["g"] == dim["g"]
    data = json.loads(
        client.get(reverse("audit:g-study", args=[p.study.pk]) + "?format=json").content
    )
    assert data == json.loads(json.dumps(expected))
    url = reverse("audit:g-study", args=[p.study.pk]) + "?format=csv"
    body = b"".join(client.get(url).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:5] == ["scope", "coders", "dimensions", "g", "phi"]
    assert len(rows) == 1 + 6 * (len(expected["dimensions"]) + 1)


def test_g_study_page_without_scores(personas, client):
    client.force_login(personas.lead)
    response = client.get(reverse("audit:g-study", args=[personas.study.pk]))
    assert response.status_code == 200 and b"No submitted scores yet" in response.content


def test_rankings_need_a_lead_role(personas, client):
    url = reverse("audit:rankings")
    for user in (personas.outsider, personas.coder_a, personas.adjudicator):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(personas.lead)
    assert client.get(url).status_code == 200


def test_rankings_upload_equals_the_stats_module(personas, client):
    client.force_login(personas.lead)
    url = reverse("audit:rankings")
    form = {"kind": "comparisons", "bootstrap": "50", "seed": "4"}
    response = client.post(url, {**form, "file": SimpleUploadedFile("c.csv", CONTESTS.encode())})
    assert response.status_code == 200
    expected = bradley_terry(read_bt_csv(io.StringIO(CONTESTS)), 50, 4)
    shown = response.context["result"]
    assert shown["overall"] == expected["overall"]
    assert (
        shown["flips"]
        == expected["rank_flips"]
        == [{"a": "A", "b": "B", "a_above_b": ["greedy"], "b_above_a": ["sampled"]}]
    )
    html = response.content.decode()
    assert 'id="flip-table"' in html and html.count("<svg") == 2
    as_json = client.post(
        url, {**form, "format": "json", "file": SimpleUploadedFile("c.csv", CONTESTS.encode())}
    )
    assert json.loads(as_json.content) == json.loads(json.dumps(expected))
    as_csv = client.post(
        url, {**form, "format": "csv", "file": SimpleUploadedFile("c.csv", CONTESTS.encode())}
    )
    rows = list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode())))
    assert rows[0] == ["scope", "rank", "player", "log_strength", "se", "ci_low", "ci_high",
                       "converged"]  # fmt: skip
    assert [r[0] for r in rows[1:]].count("overall") == 3


def test_rankings_csv_is_safe_for_spreadsheets(personas, client):
    client.force_login(personas.lead)
    text = "winner,loser\n=HYPERLINK(1),b\nb,=HYPERLINK(1)\n"
    response = client.post(
        reverse("audit:rankings"),
        {"kind": "comparisons", "bootstrap": "0", "seed": "1", "format": "csv",
         "file": SimpleUploadedFile("c.csv", text.encode())},
    )  # fmt: skip
    body = b"".join(response.streaming_content).decode()
    assert "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def test_rankings_example_and_bad_input(personas, client):
    client.force_login(personas.lead)
    url = reverse("audit:rankings")
    response = client.get(url + "?example=1")
    assert response.status_code == 200 and response.context["result"]["overall"]["players"]
    for text, message in [
        (b"winner,loser\na,a\n", b"compared with itself"),
        (b"\xff\xfe", b"not UTF-8"),
        (b"winner,loser,count\na,b,-3\n", b"count"),
    ]:
        response = client.post(url, {"kind": "comparisons", "bootstrap": "0", "seed": "1",
                                     "file": SimpleUploadedFile("c.csv", text)})  # fmt: skip
        assert response.status_code == 400 and message in response.content, text
    too_many = {"kind": "comparisons", "bootstrap": "999999", "seed": "1"}
    response = client.post(
        url, {**too_many, "file": SimpleUploadedFile("c.csv", CONTESTS.encode())}
    )
    assert response.status_code == 400


def test_rankings_without_mle_say_why(personas, client):
    client.force_login(personas.lead)
    response = client.post(
        reverse("audit:rankings"),
        {"kind": "comparisons", "bootstrap": "0", "seed": "1",
         "file": SimpleUploadedFile("c.csv", b"winner,loser\na,b\na,c\nb,c\n")},
    )  # fmt: skip
    assert response.status_code == 200
    assert b"No maximum-likelihood estimate" in response.content
    assert b"never won" in response.content
