import pytest
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_rotates_session_and_shows_studies(client, personas):
    client.get(reverse("login"))
    before = client.cookies.get("sessionid")
    response = client.post(reverse("login"), {"username": "coder_a", "password": PASSWORD})
    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert before is None or before.value != after
    home = client.get(reverse("home"))
    assert personas.study.name in home.content.decode()
    assert "Coder" in home.content.decode()


def test_outsider_home_lists_nothing(client, personas):
    client.force_login(personas.outsider)
    body = client.get(reverse("home")).content.decode()
    assert personas.study.name not in body
    assert "No studies yet" in body


def test_login_throttled_after_repeated_failures(client, personas, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"username": "coder_a", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "coder_a", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_open_redirect_on_next_is_refused(client, personas):
    response = client.post(
        reverse("login") + "?next=https://evil.example/",
        {"username": "coder_a", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
