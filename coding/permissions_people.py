"""Permission getters for the people, item-browser and event pages (leads only).

Like alignweb.permissions: each returns the object or raises 404, so a non-lead learns
nothing about what exists.
"""

from __future__ import annotations

from django.http import Http404

from alignweb.permissions import LEADS, UserLike, access_study

from .models import Invite, Membership, Study


def access_invite(user: UserLike, study_id: int | str, invite_id: int | str) -> Invite:
    """An invitation of a study the user leads, or 404."""
    study = access_study(user, study_id, roles=LEADS)
    invite = Invite.objects.filter(study=study, pk=int(invite_id)).first()
    if invite is None:
        raise Http404("No such invitation.")
    invite.study = study
    return invite


def access_member(user: UserLike, study_id: int | str, member_id: int | str) -> Membership:
    """A membership of a study the user leads, or 404."""
    study = access_study(user, study_id, roles=LEADS)
    membership = (
        Membership.objects.select_related("user").filter(study=study, pk=int(member_id)).first()
    )
    if membership is None:
        raise Http404("No such member.")
    membership.study = study
    return membership


def lead_study(user: UserLike, study_id: int | str) -> Study:
    return access_study(user, study_id, roles=LEADS)
