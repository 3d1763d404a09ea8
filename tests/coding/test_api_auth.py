"""REST API authentication: tokens, and CSRF on session writes."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.coding.conftest import (
    V1,
    first_code,
    scores_body,
)

# --- auth ------------------------------------------------------------------------------------


def test_token_auth(open_study):
    p = open_study
    token = Token.objects.create(user=p.coder_a)
    client = APIClient()
    url = f"{V1}/studies/{p.study.pk}/my-assignments/"
    assert client.get(url).status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(url).json()["count"] == 12
    code = first_code(p, p.coder_a)
    response = client.post(
        f"{V1}/studies/{p.study.pk}/my-assignments/{code}/submit/",
        scores_body(p.study, version=0),
        format="json",
    )
    assert response.status_code == 200  # token clients are not subject to CSRF
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(url).status_code in (401, 403)


def test_session_writes_need_csrf(open_study):
    p = open_study
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(p.coder_a)
    code = first_code(p, p.coder_a)
    response = client.post(
        f"{V1}/studies/{p.study.pk}/my-assignments/{code}/draft/",
        {"version": 0, "scores": {}},
        format="json",
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
