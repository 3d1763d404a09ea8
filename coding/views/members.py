"""People pages: members with status and progress, invitations (made, renewed, withdrawn,
accepted), adding an existing account, and removing or replacing a member."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from coding.forms import MemberForm
from coding.forms_people import AcceptForm, InviteForm, RemoveForm
from coding.invites import email_configured, invite_for_token, parse_invite_list, send_invite_email
from coding.models import Invite, Membership
from coding.permissions_people import access_invite, access_member, lead_study
from coding.selectors import items as selectors_items
from coding.selectors import members as selectors_members
from coding.services import ServiceError, membership_add
from coding.services.members import (
    FieldError,
    IssuedInvite,
    invite_accept_existing,
    invite_accept_new,
    invite_renew,
    invite_revoke,
    invites_create,
    member_remove,
)

Role = Membership.Role


def _lead_context(study, tab: str = "members") -> dict:
    return {"study": study, "tab": tab, "summary": selectors_items.lead_header(study=study)}


@login_required
def study_members(request: HttpRequest, study_id: int) -> HttpResponse:
    """Members, open invitations and former members; POST adds an existing account."""
    study = lead_study(request.user, study_id)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership_add(study=study, by=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Added {form.cleaned_data['username']}.")
            return redirect("coding:study-members", study.pk)
    ctx = _lead_context(study)
    ctx.update(
        form=form,
        members=selectors_members.member_rows(study=study),
        invites=selectors_members.open_invites(study=study),
        removals=selectors_members.removals(study=study),
        email_on=email_configured(),
    )
    return render(request, "coding/study_members.html", ctx, status=400 if form.errors else 200)


def _link(request: HttpRequest, issued: IssuedInvite) -> str:
    return request.build_absolute_uri(reverse("coding:invite-accept", args=[issued.token]))


def _links_page(request: HttpRequest, study, issued: list[IssuedInvite]) -> HttpResponse:
    """The new links, shown once (only their hashes are stored); emailed if configured."""
    rows = []
    for entry in issued:
        link = _link(request, entry)
        sent = send_invite_email(
            invite=entry.invite, study=study, link=link, inviter=request.user.get_username()
        )
        rows.append({"invite": entry.invite, "link": link, "emailed": sent})
    ctx = _lead_context(study)
    ctx.update(rows=rows, email_on=email_configured())
    return render(request, "coding/invite_links.html", ctx)


@login_required
def member_invite(request: HttpRequest, study_id: int) -> HttpResponse:
    """Invite people without an account: a pasted list, one email (and role) per line."""
    study = lead_study(request.user, study_id)
    form = InviteForm(request.POST or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        entries, errors = parse_invite_list(form.cleaned_data["emails"], form.cleaned_data["role"])
        if not errors:
            try:
                issued = invites_create(
                    study=study,
                    entries=entries,
                    by=request.user,
                    ttl_days=form.cleaned_data["expires_days"],
                )
            except ServiceError as exc:
                errors = [str(exc)]
            else:
                return _links_page(request, study, issued)
    ctx = _lead_context(study)
    ctx.update(form=form, errors=errors, email_on=email_configured(), roles=Role.choices)
    status = 400 if request.method == "POST" else 200
    return render(request, "coding/member_invite.html", ctx, status=status)


@login_required
@require_POST
def invite_renew_view(request: HttpRequest, study_id: int, invite_id: int) -> HttpResponse:
    invite = access_invite(request.user, study_id, invite_id)
    try:
        issued = invite_renew(invite=invite, by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("coding:study-members", invite.study.pk)
    return _links_page(request, invite.study, [issued])


@login_required
@require_POST
def invite_revoke_view(request: HttpRequest, study_id: int, invite_id: int) -> HttpResponse:
    invite = access_invite(request.user, study_id, invite_id)
    try:
        invite_revoke(invite=invite, by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Withdrew the invitation to {invite.email}.")
    return redirect("coding:study-members", invite.study.pk)


@login_required
def member_remove_view(request: HttpRequest, study_id: int, member_id: int) -> HttpResponse:
    """Confirm, then remove a member (a coder's open items go to other coders)."""
    membership = access_member(request.user, study_id, member_id)
    study = membership.study
    is_coder = membership.role == Role.CODER
    candidates = selectors_members.replacement_candidates(membership=membership) if is_coder else []
    form = RemoveForm(request.POST or None, candidates=candidates)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            replacement_id = form.cleaned_data["replacement"]
            replacement = next((m.user for m in candidates if m.user_id == replacement_id), None)
            try:
                removal = member_remove(
                    membership=membership,
                    by=request.user,
                    replacement=replacement,
                    reason=form.cleaned_data["reason"],
                )
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                record = removal.record
                text = f"Removed {membership.user.get_username()}."
                if record.reassigned:
                    to = f"to {replacement.get_username()}" if replacement else "across the coders"
                    text += f" {_items(record.reassigned, 'open item')} reassigned {to}."
                if record.submitted_kept:
                    text += f" {_items(record.submitted_kept, 'submitted item')} stay, marked."
                messages.success(request, text)
                return redirect("coding:study-members", study.pk)
    ctx = _lead_context(study)
    ctx.update(
        membership=membership,
        form=form,
        is_coder=is_coder,
        candidates=candidates,
        impact=selectors_members.removal_summary(membership=membership),
        is_self=membership.user_id == request.user.pk,
    )
    return render(request, "coding/member_remove.html", ctx, status=status)


def _items(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --- the invitee's side ----------------------------------------------------------------------


def _landing(membership_role: str, study_id: int) -> str:
    """Where a new member starts: their queue, the reconciliation queue, or the dashboard."""
    if membership_role == Role.CODER:
        return reverse("coding:queue", args=[study_id])
    if membership_role == Role.ADJUDICATOR:
        return reverse("coding:reconcile-queue", args=[study_id])
    if membership_role == Role.LEAD:
        return reverse("coding:study-detail", args=[study_id])
    return reverse("home")


def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the invitation link. Anyone holding it may join, once, before it expires:
    signed out, by choosing a user name and password; signed in, with their account."""
    invite = invite_for_token(token)
    if invite is None or invite.state != Invite.State.PENDING:
        return render(
            request,
            "coding/invite_accept.html",
            {"invite": invite, "unusable": True},
            status=404 if invite is None else 410,
        )
    user = request.user
    form = AcceptForm(request.POST or None) if not user.is_authenticated else None
    error = ""
    member = (
        Membership.objects.filter(study=invite.study, user=user).first()
        if user.is_authenticated
        else None
    )
    if request.method == "POST" and (user.is_authenticated or form.is_valid()):
        try:
            if user.is_authenticated:
                invite_accept_existing(invite=invite, user=user)
            else:
                user = invite_accept_new(
                    invite=invite,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except FieldError as exc:
            form.add_error(exc.field, str(exc))
        except ServiceError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Welcome to {invite.study.name}.")
            return redirect(_landing(invite.role, invite.study_id))
    email_taken = (
        not user.is_authenticated
        and get_user_model().objects.filter(email__iexact=invite.email).exists()
    )
    ctx = {
        "invite": invite,
        "form": form,
        "error": error,
        "member": member,
        "email_taken": email_taken,
        "suggested": invite.email.split("@")[0][:150],
        "role_label": dict(Role.choices).get(invite.role, invite.role),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "coding/invite_accept.html", ctx, status=status)
