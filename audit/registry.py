"""Writes of the benchmark registry: a shared record that is not anyone's to rewrite.

- Built-in entries (the reference audit's benchmarks) are read-only. A lead copies one
  into an entry of their own, or proposes an edit; staff accept or reject proposals.
- A lead's own entry is edited by that lead (or staff); others copy it or propose.
- Every state of every entry is kept (``BenchmarkVersion``: who, when, what changed),
  and each change bumps the registry ``revision`` that claim reports and audit matrices
  state, so a report says exactly which registry it used.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from coding.models import Event
from coding.services import Conflict, ServiceError, event_record

from .models import Benchmark, BenchmarkProposal, BenchmarkVersion

FIELDS = (
    "name",
    "year",
    "claim_level",
    "url",
    "citation",
    "description",
    "notes",
    "citation_verified",
)
MAX_NOTE = 2000


def registry_revision() -> int:
    """The registry's current revision: the number of its last change (0: empty)."""
    return BenchmarkVersion.objects.aggregate(m=Max("revision"))["m"] or 0


def can_edit(benchmark: Benchmark, user) -> bool:
    """Only the creator of a non-built-in entry (or staff) edits it in place."""
    if benchmark.builtin or not user.is_authenticated:
        return False
    return user.is_staff or benchmark.created_by_id == user.pk


def can_decide(proposal: BenchmarkProposal, user) -> bool:
    """Staff decide proposals; the creator of a non-built-in entry decides its own."""
    if not user.is_authenticated:
        return False
    bench = proposal.benchmark
    return user.is_staff or (not bench.builtin and bench.created_by_id == user.pk)


def _snapshot(benchmark: Benchmark) -> dict[str, Any]:
    return {name: getattr(benchmark, name) for name in FIELDS}


def _record(benchmark: Benchmark, *, by, changed: list[str], note: str) -> BenchmarkVersion:
    """Append the entry's current state to its history under the next registry revision.

    Two writers can pick the same next revision; the unique constraint makes one retry.
    """
    for _attempt in range(5):
        try:
            with transaction.atomic():
                revision = registry_revision() + 1
                return BenchmarkVersion.objects.create(
                    benchmark=benchmark,
                    version=benchmark.version,
                    revision=revision,
                    fields=_snapshot(benchmark),
                    changed=changed,
                    note=note[:300],
                    edited_by=by,
                )
        except IntegrityError:
            continue
    raise Conflict("The registry changed at the same moment; try again.")


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in fields.items() if k in FIELDS}
    if "name" in data:
        data["name"] = (data["name"] or "").strip()[:200]
        if not data["name"]:
            raise ServiceError("The benchmark needs a name.")
    return data


def _unique_name(name: str, exclude: int | None = None) -> None:
    clash = Benchmark.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ServiceError(f"{name!r} is already in the registry.")


def benchmark_create(*, by, note: str = "created", **fields: Any) -> Benchmark:
    """Add a lead's own entry to the registry (names are unique, case-insensitively)."""
    data = _clean({"name": "", **fields})
    _unique_name(data["name"])
    with transaction.atomic():
        benchmark = Benchmark.objects.create(created_by=by, builtin=False, version=1, **data)
        _record(benchmark, by=by, changed=sorted(data), note=note)
        event_record(verb=Event.Verb.BENCHMARK_ADD, actor=by, target=benchmark.name)
    return benchmark


def benchmark_update(*, benchmark: Benchmark, by, **fields: Any) -> Benchmark:
    """Edit an entry in place: only its creator (or staff), never a built-in entry."""
    if benchmark.builtin:
        raise ServiceError(
            f"{benchmark.name} is a built-in entry that other studies rely on: copy it or "
            "propose an edit."
        )
    if not can_edit(benchmark, by):
        raise ServiceError(f"{benchmark.name} belongs to another lead: copy it or propose an edit.")
    data = _clean(fields)
    # Compare with the stored entry: a bound ModelForm has already set the new values on
    # the instance it was given.
    current = Benchmark.objects.get(pk=benchmark.pk)
    changed = sorted(k for k, v in data.items() if getattr(current, k) != v)
    if not changed:
        return benchmark
    if "name" in changed:
        _unique_name(data["name"], exclude=benchmark.pk)
    with transaction.atomic():
        updated = Benchmark.objects.filter(pk=benchmark.pk, version=benchmark.version).update(
            version=F("version") + 1, **{k: data[k] for k in changed}
        )
        if not updated:
            raise Conflict("This entry was changed elsewhere; reload it.")
        benchmark.refresh_from_db()
        _record(benchmark, by=by, changed=changed, note="edited")
        event_record(
            verb=Event.Verb.BENCHMARK_EDIT,
            actor=by,
            target=benchmark.name,
            payload={"fields": changed, "version": benchmark.version},
        )
    return benchmark


def benchmark_copy(*, benchmark: Benchmark, by, name: str = "") -> Benchmark:
    """A lead's own, editable copy of an entry (it names the entry and version copied)."""
    name = (name or "").strip() or f"{benchmark.name} ({by.get_username()})"
    fields = _snapshot(benchmark) | {"name": name[:200]}
    copy = benchmark_create(
        by=by, note=f"copied from {benchmark.name} v{benchmark.version}", **fields
    )
    Benchmark.objects.filter(pk=copy.pk).update(copied_from=benchmark)
    copy.copied_from = benchmark
    return copy


def benchmark_propose(
    *, benchmark: Benchmark, by, note: str = "", **fields: Any
) -> BenchmarkProposal:
    """Propose an edit of an entry; only fields that differ from the current version."""
    data = _clean(fields)
    benchmark = Benchmark.objects.get(pk=benchmark.pk)  # the stored entry (see above)
    proposed = {k: v for k, v in data.items() if getattr(benchmark, k) != v}
    if not proposed:
        raise ServiceError("The proposal changes nothing.")
    if "name" in proposed:
        _unique_name(proposed["name"], exclude=benchmark.pk)
    note = (note or "").strip()
    if not note:
        raise ServiceError("Say why (a source for the change helps whoever decides).")
    if len(note) > MAX_NOTE or "\x00" in note:
        raise ServiceError(f"The note must be plain text under {MAX_NOTE} characters.")
    with transaction.atomic():
        proposal = BenchmarkProposal.objects.create(
            benchmark=benchmark,
            base_version=benchmark.version,
            fields=proposed,
            note=note,
            proposed_by=by,
        )
        event_record(
            verb=Event.Verb.BENCHMARK_PROPOSE,
            actor=by,
            target=benchmark.name,
            payload={"proposal": proposal.pk, "fields": sorted(proposed)},
        )
    return proposal


def proposal_decide(
    *, proposal: BenchmarkProposal, by, accept: bool, note: str = ""
) -> BenchmarkProposal:
    """Accept (apply as a new version) or reject a pending proposal; compare-and-set."""
    if not can_decide(proposal, by):
        raise ServiceError("Only staff (or the entry's creator) decide proposals.")
    note = (note or "").strip()[:MAX_NOTE]
    status = BenchmarkProposal.Status.ACCEPTED if accept else BenchmarkProposal.Status.REJECTED
    with transaction.atomic():
        decided = BenchmarkProposal.objects.filter(
            pk=proposal.pk, status=BenchmarkProposal.Status.PENDING
        ).update(status=status, decided_by=by, decided_at=timezone.now(), decision_note=note)
        if not decided:
            raise Conflict("This proposal was already decided.")
        if accept:
            _apply(proposal, by)
        event_record(
            verb=Event.Verb.BENCHMARK_PROPOSAL_ACCEPTED
            if accept
            else Event.Verb.BENCHMARK_PROPOSAL_REJECTED,
            actor=by,
            target=proposal.benchmark.name,
            payload={"proposal": proposal.pk},
        )
    proposal.refresh_from_db()
    return proposal


def _apply(proposal: BenchmarkProposal, by) -> None:
    bench = proposal.benchmark
    updated = Benchmark.objects.filter(pk=bench.pk, version=proposal.base_version).update(
        version=F("version") + 1, **_clean(proposal.fields)
    )
    if not updated:
        raise Conflict(
            f"The entry changed since this proposal (made against v{proposal.base_version}); "
            "reject it and propose again on the current version."
        )
    bench.refresh_from_db()
    who = proposal.proposed_by.get_username() if proposal.proposed_by else "someone"
    _record(
        bench,
        by=by,
        changed=sorted(proposal.fields),
        note=f"proposal {proposal.pk} by {who} accepted",
    )
