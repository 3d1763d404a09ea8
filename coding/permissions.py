"""Permission getters: the one place that decides who may touch which object.

Every view and API endpoint fetches objects through these. Outsiders get a 404,
never a 403, so they learn nothing about what exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from coding.models import Assignment, Item, Membership, PairAssignment, PendingUpload, Study

Role = Membership.Role
LEADS = (Role.LEAD,)
RECONCILERS = (Role.LEAD, Role.ADJUDICATOR)
ANY_ROLE = (Role.LEAD, Role.CODER, Role.ADJUDICATOR)
# May ask for the condition key; the door (coding.services.door) decides and records.
KEY_READERS = (Role.LEAD, Role.OPERATOR)

UserLike = AbstractBaseUser | AnonymousUser
# Item codes are short opaque strings; anything else (NUL bytes, long junk) is simply absent.
_CODE = re.compile(r"^[A-Za-z0-9-]{1,16}$")


def valid_code(code: object) -> bool:
    return isinstance(code, str) and bool(_CODE.match(code))


def study_role(user: UserLike, study: Study) -> str | None:
    """The user's role in a study, or None for non-members."""
    if not user.is_authenticated:
        return None
    membership = Membership.objects.filter(study=study, user=user).only("role").first()
    return membership.role if membership else None


def access_study(user: UserLike, study_id: int | str, roles: Iterable[str] = ANY_ROLE) -> Study:
    """The study if the user holds one of ``roles`` in it, else 404."""
    if not user.is_authenticated:
        raise Http404("No such study.")
    try:
        study_pk = int(study_id)
    except (TypeError, ValueError):
        raise Http404("No such study.")
    study = (
        Study.objects.select_related("rubric")
        .filter(pk=study_pk, memberships__user=user, memberships__role__in=list(roles))
        .first()
    )
    if study is None:
        raise Http404("No such study.")
    return study


def roles_anywhere(user: UserLike) -> frozenset[str]:
    """Every role the user holds in some study (one query; empty for anonymous users)."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(Membership.objects.filter(user=user).values_list("role", flat=True))


def leads_anywhere(user: UserLike) -> bool:
    """Staff, or the lead of some study: may create studies and use the lead-wide pages
    (benchmark registry, audits, rankings)."""
    return user.is_authenticated and (user.is_staff or Role.LEAD in roles_anywhere(user))


def generates_anywhere(user: UserLike) -> bool:
    """Staff, or a lead or generation operator of some study: may use generation."""
    if not user.is_authenticated:
        return False
    return user.is_staff or bool(roles_anywhere(user) & {Role.LEAD, Role.OPERATOR})


def require_lead_anywhere(user: UserLike) -> None:
    if not leads_anywhere(user):
        raise Http404("No such page.")


def access_assignment(
    user: UserLike, public_code: str, study_id: int | str | None = None
) -> Assignment:
    """The user's own assignment for an item (of study ``study_id`` if given), or 404.

    One query: the coder's membership, the item and the study are checked in the same join,
    and the study and its rubric come along (select_related) for the caller.
    """
    if not user.is_authenticated or not valid_code(public_code):
        raise Http404("No such item.")
    filters = {}
    if study_id is not None:
        try:
            filters["item__study_id"] = int(study_id)
        except (TypeError, ValueError):
            raise Http404("No such item.")
    assignment = (
        Assignment.objects.select_related("item", "item__study", "item__study__rubric")
        .filter(
            item__public_code=public_code,
            coder=user,
            item__study__memberships__user=user,
            item__study__memberships__role=Role.CODER,
            **filters,
        )
        .first()
    )
    if assignment is None:
        raise Http404("No such item.")
    return assignment


def access_pair_assignment(user: UserLike, public_code: str, study_id: int | str) -> PairAssignment:
    """The user's own assignment for a pair of study ``study_id`` (coders only), or 404.

    One query, like ``access_assignment``; the pair's two items and the study come along.
    """
    if not user.is_authenticated or not valid_code(public_code):
        raise Http404("No such pair.")
    try:
        study_pk = int(study_id)
    except (TypeError, ValueError):
        raise Http404("No such pair.")
    assignment = (
        PairAssignment.objects.select_related(
            "pair", "pair__first", "pair__second", "pair__study", "pair__study__rubric"
        )
        .filter(
            pair__public_code=public_code,
            pair__study_id=study_pk,
            coder=user,
            pair__study__memberships__user=user,
            pair__study__memberships__role=Role.CODER,
        )
        .first()
    )
    if assignment is None:
        raise Http404("No such pair.")
    return assignment


def access_study_item(
    user: UserLike, study_id: int | str, public_code: str, roles: Iterable[str] = RECONCILERS
) -> Item:
    """An item of study ``study_id`` where the user holds one of ``roles``, or 404 (one
    query; ``item.study`` and its rubric come along)."""
    if not user.is_authenticated or not valid_code(public_code):
        raise Http404("No such item.")
    try:
        study_pk = int(study_id)
    except (TypeError, ValueError):
        raise Http404("No such item.")
    item = (
        Item.objects.select_related("study", "study__rubric")
        .filter(
            public_code=public_code,
            study_id=study_pk,
            study__memberships__user=user,
            study__memberships__role__in=list(roles),
        )
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    return item


def access_pending_upload(user: UserLike, study: Study, token: str) -> PendingUpload:
    """The user's own staged upload for ``study`` (the caller has checked the lead role),
    else 404: a preview shows condition values from the file, so only its uploader sees it."""
    if not user.is_authenticated or not isinstance(token, str) or len(token) > 32:
        raise Http404("No such upload.")
    upload = PendingUpload.objects.filter(study=study, token=token, created_by=user).first()
    if upload is None:
        raise Http404("No such upload.")
    return upload
