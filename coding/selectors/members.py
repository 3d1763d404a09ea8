"""Reads for the members page and the per-coder pace table (leads only).

A fixed number of queries whatever the number of members: progress, last activity and
submission times are grouped in the database, never fetched per member.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Max, Q

from coding.invites import role_label
from coding.models import Assignment, Event, Invite, MemberRemoval, Membership, Score, Study
from coding.pace import Pace, coder_pace, duration_label


@dataclass
class MemberRow:
    membership: Membership
    role_label: str
    done: int = 0
    total: int = 0
    drafts: int = 0
    last_active: dt.datetime | None = None

    @property
    def user(self):
        return self.membership.user

    @property
    def is_coder(self) -> bool:
        return self.membership.role == Membership.Role.CODER

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def status(self) -> str:
        """ "Active" once they have signed in; "Not signed in yet" for added accounts."""
        return "Active" if self.user.last_login else "Not signed in yet"


def _latest(*values: dt.datetime | None) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def member_rows(*, study: Study) -> list[MemberRow]:
    """Every member with role, coding progress and when they were last active (sign-in,
    draft save, submission, or anything else they did in this study)."""
    memberships = (
        Membership.objects.filter(study=study)
        .select_related("user")
        .order_by("role", "user__username")
    )
    progress = {
        r["coder_id"]: r
        for r in Assignment.objects.filter(item__study=study)
        .values("coder_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)),
            drafts=Count("pk", filter=Q(status=Assignment.Status.OPEN, version__gt=0)),
            last=Max("submitted_at"),
        )
    }
    saved = dict(
        Score.objects.filter(assignment__item__study=study)
        .values("assignment__coder_id")
        .annotate(last=Max("updated_at"))
        .values_list("assignment__coder_id", "last")
    )
    acted = dict(
        Event.objects.filter(study=study, actor__isnull=False)
        .values("actor_id")
        .annotate(last=Max("at"))
        .values_list("actor_id", "last")
    )
    rows = []
    for m in memberships:
        p = progress.get(m.user_id, {})
        rows.append(
            MemberRow(
                membership=m,
                role_label=role_label(m.role),
                done=p.get("done", 0),
                total=p.get("total", 0),
                drafts=p.get("drafts", 0),
                last_active=_latest(
                    m.user.last_login, p.get("last"), saved.get(m.user_id), acted.get(m.user_id)
                ),
            )
        )
    return rows


def open_invites(*, study: Study) -> list[Invite]:
    """Invitations nobody has accepted or withdrawn (pending or expired), newest first."""
    return list(
        Invite.objects.filter(study=study, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def removals(*, study: Study) -> list[MemberRemoval]:
    return list(
        MemberRemoval.objects.filter(study=study).select_related(
            "user", "removed_by", "replaced_by"
        )
    )


def removed_coder_ids(*, study: Study) -> set[int]:
    """Users removed from the study who are not members again: their work is marked."""
    removed = set(MemberRemoval.objects.filter(study=study).values_list("user_id", flat=True))
    if not removed:
        return set()
    back = Membership.objects.filter(study=study, user_id__in=removed).values_list(
        "user_id", flat=True
    )
    return removed - set(back)


def removal_summary(*, membership: Membership) -> dict[str, int | str]:
    """What removing this member would do (for the confirmation page)."""
    agg = Assignment.objects.filter(
        item__study=membership.study, coder_id=membership.user_id
    ).aggregate(
        open=Count("pk", filter=Q(status=Assignment.Status.OPEN)),
        submitted=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)),
        drafts=Count("pk", filter=Q(status=Assignment.Status.OPEN, version__gt=0)),
    )
    return {**agg, "role": role_label(membership.role)}


def replacement_candidates(*, membership: Membership) -> list[Membership]:
    """The study's other coders (a replacement must already be a coder of the study)."""
    return list(
        Membership.objects.filter(study=membership.study, role=Membership.Role.CODER)
        .exclude(pk=membership.pk)
        .select_related("user")
        .order_by("user__username")
    )


@dataclass
class PaceRow:
    username: str
    removed: bool
    assigned: int
    open: int
    pace: Pace

    @property
    def percent(self) -> int:
        return round(100 * self.pace.submitted / self.assigned) if self.assigned else 0

    @property
    def median_label(self) -> str:
        return duration_label(self.pace.median_seconds)


def coder_pace_rows(*, study: Study) -> list[PaceRow]:
    """Per coder (current and removed, anyone holding items): items assigned, open,
    submitted, items per hour and median time per item (coding/pace.py says how)."""
    times: dict[int, list[dt.datetime]] = defaultdict(list)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"assigned": 0, "open": 0})
    names: dict[int, str] = {}
    rows = Assignment.objects.filter(item__study=study).values_list(
        "coder_id", "coder__username", "status", "submitted_at"
    )
    for coder_id, username, status, submitted_at in rows.iterator(chunk_size=5000):
        names[coder_id] = username
        counts[coder_id]["assigned"] += 1
        if status == Assignment.Status.OPEN:
            counts[coder_id]["open"] += 1
        elif submitted_at is not None:
            times[coder_id].append(submitted_at)
    current = set(
        Membership.objects.filter(study=study, role=Membership.Role.CODER).values_list(
            "user_id", flat=True
        )
    )
    for user_id, username in (
        Membership.objects.filter(study=study, role=Membership.Role.CODER)
        .exclude(user_id__in=names)
        .values_list("user_id", "user__username")
    ):
        names[user_id] = username  # coders with nothing assigned yet
    return sorted(
        (
            PaceRow(
                username=names[c],
                removed=c not in current,
                assigned=counts[c]["assigned"],
                open=counts[c]["open"],
                pace=coder_pace(times[c]),
            )
            for c in names
        ),
        key=lambda r: (r.removed, r.username),
    )
