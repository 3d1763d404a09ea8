"""Invitations: hashed single-use expiring links, bulk lists, accepting, renewing, email."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from coding.invites import InviteLine, parse_invite_list, role_from_text, token_hash
from coding.models import Event, Invite, Membership
from coding.services.members import (
    invite_accept_new,
    invites_create,
)

User = get_user_model()
LINK = re.compile(r'value="(http://testserver/studies/join/([A-Za-z0-9_-]+)/)"')
NEW_PASSWORD = "plum-orchard-kettle-42"


def _invite(p, text, role="coder", days=14):
    return reverse("coding:member-invite", args=[p.study.pk]), {
        "emails": text,
        "role": role,
        "expires_days": days,
    }


def _links(response) -> list[tuple[str, str]]:
    return LINK.findall(response.content.decode())


def test_bulk_invite_shows_links_once_and_stores_only_hashes(personas, login):
    p = personas
    url, data = _invite(
        p, "ana@lab.org\nben@lab.org, Adjudicator\n\n# a comment\nchen@lab.org\tcoder"
    )
    response = login(p.lead).post(url, data)
    assert response.status_code == 200
    links = _links(response)
    assert len(links) == 3
    invites = {i.email: i for i in Invite.objects.filter(study=p.study)}
    assert {e: i.role for e, i in invites.items()} == {
        "ana@lab.org": "coder",
        "ben@lab.org": "adjudicator",
        "chen@lab.org": "coder",
    }
    tokens = [token for _link, token in links]
    stored = set(Invite.objects.values_list("token_sha256", flat=True))
    assert stored == {token_hash(t) for t in tokens}
    assert not any(t in stored for t in tokens)  # the link itself is never stored
    for invite in invites.values():
        assert abs(invite.expires_at - invite.created_at - dt.timedelta(days=14)).seconds < 60
    event = Event.objects.get(study=p.study, verb="invite_create")
    assert event.actor == p.lead and "ben@lab.org (adjudicator)" in event.payload["invited"]
    # The members page lists them as invited, without the links.
    members = login(p.lead).get(reverse("coding:study-members", args=[p.study.pk]))
    body = members.content.decode()
    assert "ana@lab.org" in body and "Invited" in body and tokens[0] not in body


def test_bad_lines_are_reported_and_nothing_is_made(personas, login):
    p = personas
    url, data = _invite(p, "ana@lab.org\nnot-an-email\nben@lab.org, wizard\nana@lab.org")
    response = login(p.lead).post(url, data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 2" in body and "Line 3" in body and "wizard" in body and "Line 4" in body
    assert not Invite.objects.exists()
    response = login(p.lead).post(*_invite(p, "x@lab.org", days=365))
    assert response.status_code == 400 and not Invite.objects.exists()


def test_roles_come_from_the_membership_roles():
    for value, label in Membership.Role.choices:
        assert role_from_text(value) == value
        assert role_from_text(str(label).upper()) == value
    entries, errors = parse_invite_list("a@x.org, " + Membership.Role.ADJUDICATOR.label, "coder")
    assert not errors and entries[0].role == Membership.Role.ADJUDICATOR


def test_existing_members_cannot_be_invited(personas, login):
    p = personas
    p.coder_a.email = "coder.a@lab.org"
    p.coder_a.save()
    response = login(p.lead).post(*_invite(p, "Coder.A@lab.org"))
    assert response.status_code == 400 and b"already a member" in response.content


def _make(p, email="new@lab.org", role="coder", days=14):
    return invites_create(
        study=p.study, entries=[InviteLine(1, email, role)], by=p.lead, ttl_days=days
    )[0]


def test_accept_creates_the_account_signs_in_and_the_link_dies(personas, client):
    p = personas
    issued = _make(p)
    url = reverse("coding:invite-accept", args=[issued.token])
    page = client.get(url)
    assert page.status_code == 200 and p.study.name in page.content.decode()
    response = client.post(
        url, {"username": "newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("coding:queue", args=[p.study.pk])
    user = User.objects.get(username="newbie")
    assert user.email == "new@lab.org" and user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(study=p.study, user=user).role == "coder"
    assert client.get(response["Location"]).status_code == 200  # signed in, can see the queue
    invite = Invite.objects.get()
    assert invite.accepted_by == user and invite.state == "accepted"
    assert Event.objects.filter(verb="invite_accept", actor=user).exists()
    client.logout()
    again = client.post(
        url, {"username": "second", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert again.status_code == 410 and not User.objects.filter(username="second").exists()


def test_accept_enforces_password_rules_and_unique_names(personas, client):
    p = personas
    issued = _make(p)
    url = reverse("coding:invite-accept", args=[issued.token])
    weak = client.post(
        url, {"username": "newbie", "password1": "password", "password2": "password"}
    )
    assert weak.status_code == 400 and b"too common" in weak.content
    taken = client.post(
        url, {"username": "Coder_A", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert taken.status_code == 400 and b"taken" in taken.content
    differ = client.post(url, {"username": "n", "password1": NEW_PASSWORD, "password2": "x"})
    assert differ.status_code == 400 and b"differ" in differ.content
    assert Invite.objects.get().state == "pending"  # still usable after the mistakes


def test_expired_revoked_and_unknown_links(personas, client, login):
    p = personas
    issued = _make(p)
    Invite.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    url = reverse("coding:invite-accept", args=[issued.token])
    assert client.get(url).status_code == 410
    with pytest.raises(Exception, match="used, withdrawn or has expired"):
        invite_accept_new(invite=Invite.objects.get(), username="late", password=NEW_PASSWORD)
    assert not User.objects.filter(username="late").exists()
    unknown = reverse("coding:invite-accept", args=["A" * 43])
    assert client.get(unknown).status_code == 404
    assert client.get(reverse("coding:invite-accept", args=["short"])).status_code == 404


def test_renew_replaces_the_link_and_revoke_kills_it(personas, login, client):
    p = personas
    issued = _make(p)
    lead = login(p.lead)
    renewed = lead.post(reverse("coding:invite-renew", args=[p.study.pk, issued.invite.pk]))
    assert renewed.status_code == 200
    ((link, token),) = _links(renewed)
    assert token != issued.token
    anon = client.__class__()
    assert anon.get(reverse("coding:invite-accept", args=[issued.token])).status_code == 404
    assert anon.get(reverse("coding:invite-accept", args=[token])).status_code == 200
    lead.post(reverse("coding:invite-revoke", args=[p.study.pk, issued.invite.pk]))
    assert anon.get(reverse("coding:invite-accept", args=[token])).status_code == 410
    # Another lead cannot touch this study's invitations.
    other = anon.__class__()
    other.force_login(p.other_lead)
    for name in ("coding:invite-renew", "coding:invite-revoke"):
        assert other.post(reverse(name, args=[p.study.pk, issued.invite.pk])).status_code == 404
        assert (
            other.post(reverse(name, args=[p.other_study.pk, issued.invite.pk])).status_code == 404
        )


def test_signed_in_person_joins_with_their_account(personas, login):
    p = personas
    issued = _make(p, role="adjudicator")
    url = reverse("coding:invite-accept", args=[issued.token])
    member = login(p.coder_a)
    page = member.get(url)
    assert page.status_code == 200 and b"already a member" in page.content
    assert member.post(url).status_code == 400
    outsider = login(p.outsider)
    response = outsider.post(url)
    assert response["Location"] == reverse("coding:reconcile-queue", args=[p.study.pk])
    assert Membership.objects.get(study=p.study, user=p.outsider).role == "adjudicator"


def test_email_is_sent_only_when_configured(personas, login, settings, mailoutbox):
    p = personas
    settings.INVITE_EMAIL_ENABLED = False
    login(p.lead).post(*_invite(p, "quiet@lab.org"))
    assert mailoutbox == []
    settings.INVITE_EMAIL_ENABLED = True
    response = login(p.lead).post(*_invite(p, "loud@lab.org"))
    (message,) = mailoutbox
    assert message.to == ["loud@lab.org"] and p.study.name in message.subject
    ((link, _token),) = _links(response)
    assert link in message.body and b"emailed" in response.content


def test_lead_only_pages(personas, client):
    p = personas
    issued = _make(p)
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        client.force_login(user)
        assert client.get(reverse("coding:member-invite", args=[p.study.pk])).status_code == 404
        assert client.post(*_invite(p, "x@lab.org")).status_code == 404
        url = reverse("coding:invite-renew", args=[p.study.pk, issued.invite.pk])
        assert client.post(url).status_code == 404
    assert Invite.objects.count() == 1
