"""People: invitations (create, renew, revoke, accept) and removing or replacing a member.

Roles are checked against ``Membership.Role`` only; no list of roles is repeated here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from coding.invites import (
    DEFAULT_TTL_DAYS,
    MAX_TTL_DAYS,
    InviteLine,
    new_token,
    token_hash,
)
from coding.models import (
    Assignment,
    ConditionKey,
    Event,
    Invite,
    MemberRemoval,
    Membership,
    Study,
)
from coding.reassignment import NoEligibleCoder, OpenItem, positions, reassign

from .errors import Conflict, ServiceError
from .events import event_record
from .tallies import tally_add

Role = Membership.Role
MAX_REASON = 2000


class FieldError(ServiceError):
    """A rule about one form field (``field``) was broken."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    token: str  # shown once; only its hash is stored


def _ttl(days: int) -> dt.timedelta:
    if not isinstance(days, int) or not 1 <= days <= MAX_TTL_DAYS:
        raise ServiceError(f"Links expire after 1 to {MAX_TTL_DAYS} days.")
    return dt.timedelta(days=days)


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ServiceError(f"Unknown role {str(role)[:40]!r}.")


def invites_create(
    *, study: Study, entries: list[InviteLine], by, ttl_days: int = DEFAULT_TTL_DAYS
) -> list[IssuedInvite]:
    """Invite each (email, role); all or none. An open invitation to the same address is
    replaced (its old link stops working). Existing members are refused, by line."""
    ttl = _ttl(ttl_days)
    for entry in entries:
        _check_role(entry.role)
    emails = [e.email for e in entries]
    members = {
        email.casefold()
        for email in Membership.objects.filter(study=study)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    }
    clashes = [
        f"Line {e.line}: {e.email} is already a member."
        for e in entries
        if e.email.casefold() in members
    ]
    if clashes:
        raise ServiceError(" ".join(clashes))
    now = timezone.now()
    issued = []
    with transaction.atomic():
        pending = Invite.objects.filter(
            study=study, accepted_at__isnull=True, revoked_at__isnull=True
        )
        folded = {e.casefold() for e in emails}
        replaced = [i.pk for i in pending.only("pk", "email") if i.email.casefold() in folded]
        Invite.objects.filter(pk__in=replaced).update(revoked_at=now)
        for entry in entries:
            token = new_token()
            invite = Invite.objects.create(
                study=study,
                email=entry.email,
                role=entry.role,
                token_sha256=token_hash(token),
                created_by=by,
                expires_at=now + ttl,
            )
            issued.append(IssuedInvite(invite, token))
        event_record(
            verb=Event.Verb.INVITE_CREATE,
            actor=by,
            study=study,
            target=f"{len(entries)} invitation(s)",
            payload={
                "invited": [f"{e.email} ({e.role})" for e in entries],
                "replaced": len(replaced),
                "expires_days": ttl_days,
            },
        )
    return issued


def invite_renew(*, invite: Invite, by, ttl_days: int = DEFAULT_TTL_DAYS) -> IssuedInvite:
    """A fresh link (and expiry) for an invitation nobody has accepted; the old link dies."""
    ttl = _ttl(ttl_days)
    token = new_token()
    with transaction.atomic():
        updated = Invite.objects.filter(pk=invite.pk, accepted_at__isnull=True).update(
            token_sha256=token_hash(token), expires_at=timezone.now() + ttl, revoked_at=None
        )
        if not updated:
            raise Conflict("This invitation was accepted already.")
        event_record(
            verb=Event.Verb.INVITE_RENEW, actor=by, study=invite.study, target=invite.email,
            payload={"role": invite.role, "expires_days": ttl_days},
        )  # fmt: skip
    invite.refresh_from_db()
    return IssuedInvite(invite, token)


def invite_revoke(*, invite: Invite, by) -> None:
    with transaction.atomic():
        updated = Invite.objects.filter(
            pk=invite.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if not updated:
            raise Conflict("This invitation was accepted or withdrawn already.")
        event_record(
            verb=Event.Verb.INVITE_REVOKE, actor=by, study=invite.study, target=invite.email,
            payload={"role": invite.role},
        )  # fmt: skip


def _claim(invite: Invite) -> None:
    """Mark the invitation used (compare-and-set): a link works exactly once."""
    now = timezone.now()
    claimed = Invite.objects.filter(
        pk=invite.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(accepted_at=now)
    if not claimed:
        raise Conflict("This invitation link has been used, withdrawn or has expired.")


def _join(invite: Invite, user) -> Membership:
    existing = Membership.objects.filter(study=invite.study, user=user).first()
    if existing is not None:
        raise ServiceError(
            f"You are already in this study as {existing.get_role_display().lower()}."
        )
    _check_role(invite.role)
    _claim(invite)
    membership = Membership.objects.create(study=invite.study, user=user, role=invite.role)
    Invite.objects.filter(pk=invite.pk).update(accepted_by=user)
    event_record(
        verb=Event.Verb.INVITE_ACCEPT, actor=user, study=invite.study, target=user.get_username(),
        payload={"email": invite.email, "role": invite.role},
    )  # fmt: skip
    return membership


def invite_accept_new(*, invite: Invite, username: str, password: str):
    """Create the invitee's account (the invited email, their chosen name and password) and
    make them a member. Returns the new user."""
    user_model = get_user_model()
    username = (username or "").strip()
    try:
        user_model.username_validator(username)
    except ValidationError as exc:
        raise FieldError("username", " ".join(exc.messages))
    if not username or len(username) > 150:
        raise FieldError("username", "Choose a user name of 1 to 150 characters.")
    if user_model.objects.filter(username__iexact=username).exists():
        raise FieldError("username", "That user name is taken; choose another.")
    try:
        validate_password(password, user=user_model(username=username, email=invite.email))
    except ValidationError as exc:
        raise FieldError("password1", " ".join(exc.messages))
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(
                username=username, email=invite.email, password=password
            )
            _join(invite, user)
    except IntegrityError:
        raise FieldError("username", "That user name is taken; choose another.")
    return user


def invite_accept_existing(*, invite: Invite, user) -> Membership:
    """Join the study with the account the invitee is signed in with."""
    with transaction.atomic():
        return _join(invite, user)


# --- removing and replacing members ----------------------------------------------------------


@dataclass(frozen=True)
class Removal:
    record: MemberRemoval
    reassigned: dict[int, int]  # receiving coder id -> number of items


def _coder_loads(study: Study, exclude: int) -> tuple[dict, dict, dict, dict]:
    """Per remaining coder: items in the study, items per condition, next free position;
    and each item's condition label (as the assignment engine balances them)."""
    labels = {
        item_id: "|".join(parts)
        for item_id, *parts in ConditionKey.objects.filter(item__study=study).values_list(
            "item_id", "model", "scaffold", "specification"
        )
    }
    load: dict[int, int] = defaultdict(int)
    cond: dict[tuple[str, int], int] = defaultdict(int)
    rows = (
        Assignment.objects.filter(item__study=study)
        .exclude(coder_id=exclude)
        .values_list("coder_id", "item_id")
    )
    for coder_id, item_id in rows:
        load[coder_id] += 1
        cond[(labels.get(item_id, ""), coder_id)] += 1
    next_pos = {
        r["coder_id"]: r["top"] + 1
        for r in Assignment.objects.filter(item__study=study)
        .values("coder_id")
        .annotate(top=Max("position"))
    }
    return load, cond, next_pos, labels


def member_remove(*, membership: Membership, by, replacement=None, reason: str = "") -> Removal:
    """Take a member off the study. A coder's submitted work stays (marked by the removal
    record); their open items, with any draft scores, go to the remaining coders, balanced,
    or to ``replacement`` (a coder of the study) where they do not hold the item already."""
    study = membership.study
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise ServiceError(f"The reason must be under {MAX_REASON} characters.")
    if membership.user_id == getattr(by, "pk", None):
        raise ServiceError("You cannot remove yourself; ask another lead.")
    coders = set(
        Membership.objects.filter(study=study, role=Role.CODER)
        .exclude(user_id=membership.user_id)
        .values_list("user_id", flat=True)
    )
    if replacement is not None:
        if membership.role != Role.CODER:
            raise ServiceError("Only a coder's items can be handed to a replacement.")
        if replacement.pk not in coders:
            raise ServiceError("The replacement must be another coder of this study.")
    with transaction.atomic():
        gone = Membership.objects.filter(pk=membership.pk).delete()[0]
        if not gone:
            raise Conflict("This member was removed already.")
        moved: dict[int, int] = {}
        counts = {"reassigned": 0, "drafts_discarded": 0, "submitted_kept": 0}
        if membership.role == Role.CODER:
            moved, counts = _hand_over(study, membership.user_id, coders, replacement)
        record = MemberRemoval.objects.create(
            study=study,
            user_id=membership.user_id,
            role=membership.role,
            removed_by=by,
            replaced_by=replacement,
            reason=reason,
            **counts,
        )
        event_record(
            verb=Event.Verb.MEMBER_REPLACE if replacement is not None else Event.Verb.MEMBER_REMOVE,
            actor=by,
            study=study,
            target=membership.user.get_username(),
            payload={
                "role": membership.role,
                **counts,
                "replaced_by": replacement.get_username() if replacement else "",
                "reason": reason,
            },
        )
    return Removal(record, moved)


def _hand_over(study: Study, coder_id: int, coders: set[int], replacement) -> tuple[dict, dict]:
    # Lock the leaving coder's open assignments: a submit racing with this either commits
    # first (its row is no longer open and is kept) or finds its row gone (a Conflict).
    open_rows = list(
        Assignment.objects.select_for_update(of=("self",))
        .filter(item__study=study, coder_id=coder_id, status=Assignment.Status.OPEN)
        .values_list("pk", "item_id", "version")
    )
    submitted = Assignment.objects.filter(
        item__study=study, coder_id=coder_id, status=Assignment.Status.SUBMITTED
    ).count()
    counts = {
        "reassigned": len(open_rows),
        "drafts_discarded": sum(1 for _pk, _item, version in open_rows if version > 0),
        "submitted_kept": submitted,
    }
    if not open_rows or study.status != Study.Status.OPEN:
        # Draft: nothing assigned yet; locked or unblinded: the record is final, nothing moves.
        return {}, {**counts, "reassigned": 0, "drafts_discarded": 0}
    item_ids = [item_id for _pk, item_id, _v in open_rows]
    holders: dict[int, set[int]] = defaultdict(set)
    for item_id, holder in (
        Assignment.objects.filter(item_id__in=item_ids)
        .exclude(coder_id=coder_id)
        .values_list("item_id", "coder_id")
    ):
        holders[item_id].add(holder)
    load, cond, next_pos, labels = _coder_loads(study, exclude=coder_id)
    entries = [OpenItem(i, labels.get(i, ""), frozenset(holders[i])) for i in item_ids]
    try:
        chosen = reassign(
            entries, coders, load, cond, study.seed, replacement.pk if replacement else None
        )
    except NoEligibleCoder as exc:
        raise ServiceError(
            f"{len(exc.items)} of their open items would have no coder: every other coder "
            "already has them. Invite another coder first, then replace this one."
        )
    # Draft scores go with the old assignment (cascade): a new coder never sees them.
    Assignment.objects.filter(pk__in=[pk for pk, _i, _v in open_rows]).delete()
    Assignment.objects.bulk_create(
        [
            Assignment(item_id=item, coder_id=coder, position=position)
            for item, coder, position in positions(chosen, next_pos, study.seed)
        ],
        batch_size=1000,
    )
    moved: dict[int, int] = defaultdict(int)
    for coder in chosen.values():
        moved[coder] += 1
    tally_add(study_id=study.pk, user_id=coder_id, assigned=-len(open_rows))
    for coder, n in moved.items():
        tally_add(study_id=study.pk, user_id=coder, assigned=n)
    return dict(moved), counts
