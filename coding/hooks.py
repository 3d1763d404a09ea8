"""Where other apps plug into coding, so that coding depends on none of them.

The apps depend one way: ``transcripts -> coding <- audit``. When coding needs something
done by an app that builds on it, it calls the listeners or sources registered here; the
apps register them in their ``AppConfig.ready()``:

- ``on_submit``: called with the study id after a first-pass submission commits (audit
  queues an agreement snapshot). A listener's failure is logged and never fails the submit.
- ``provenance``: where a claim report finds scaffold hashes and generation run cards for
  a study's conditions (transcripts knows them; without it a report simply has none).
- ``notices``: lines for the lead's study page from other apps (audit: drift flags).
  A provider's failure is logged and never takes the page down.
- ``qualification_verdict``: decides a qualification round from per-dimension (coder,
  gold, categories) values (audit: quadratic-weighted kappa, ``audit.stats.quality``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

log = logging.getLogger(__name__)

SubmitListener = Callable[[int], None]
_submit_listeners: list[SubmitListener] = []


def on_submit(listener: SubmitListener) -> SubmitListener:
    """Register ``listener(study_id)`` to run after each first-pass submission commits."""
    if listener not in _submit_listeners:
        _submit_listeners.append(listener)
    return listener


_quiet = 0  # > 0 inside ``submissions_quiet()``


@contextmanager
def submissions_quiet() -> Iterator[None]:
    """Bulk loaders (the demo) submit thousands of scores: listeners are not called in
    here, and the loader refreshes what it needs once at the end."""
    global _quiet
    _quiet += 1
    try:
        yield
    finally:
        _quiet -= 1


def submitted(study_id: int) -> None:
    """Tell every listener that a submission of ``study_id`` committed."""
    if _quiet:
        return
    for listener in list(_submit_listeners):
        _guarded(listener, study_id, what="after-submit listener")  # never fails the submit


def _guarded(call: Callable[[Any], Any], arg: Any, *, what: str) -> Any:
    """``call(arg)``, or None (logged) if it raises: another app's failure (a broker
    outage, a broken panel) must not fail coding's own request."""
    try:
        return call(arg)
    except Exception:  # noqa: BLE001 - logged with its traceback
        log.warning("%s %s failed", what, getattr(call, "__name__", call), exc_info=True)
        return None


class ProvenanceSource(Protocol):
    """What a claim report asks about the conditions behind a study's items."""

    def scaffold_hashes(self, code: str, versions: set[int]) -> set[str]: ...

    def run_cards(self, study: Any, run_ids: set[int]) -> list[dict[str, Any]]: ...

    def run_card_markdown(self, card: dict[str, Any]) -> str: ...


_provenance: list[ProvenanceSource] = []


def register_provenance(source: ProvenanceSource) -> None:
    if source not in _provenance:
        _provenance.append(source)


def provenance_sources() -> list[ProvenanceSource]:
    return list(_provenance)


Notice = dict[str, Any]
NoticeProvider = Callable[[Any], list[Notice]]
_notice_providers: list[NoticeProvider] = []


def register_notices(provider: NoticeProvider) -> None:
    """Register ``provider(study) -> [{"level", "kind", "text", "url"}]`` for the study page."""
    if provider not in _notice_providers:
        _notice_providers.append(provider)


def study_notices(study: Any) -> list[Notice]:
    notices: list[Notice] = []
    for provider in list(_notice_providers):
        notices.extend(_guarded(provider, study, what="study notice provider") or [])
    return notices


Verdict = Callable[[dict[str, tuple], float], tuple[bool, dict[str, dict[str, Any]]]]
_verdicts: list[Verdict] = []


def register_qualification_verdict(verdict: Verdict) -> None:
    _verdicts[:] = [verdict]


def qualification_verdict(
    per_dimension: dict[str, tuple], threshold: float
) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Pass/fail and per-dimension detail of a qualification round (audit decides)."""
    if not _verdicts:
        raise RuntimeError("No qualification verdict registered (is the audit app installed?)")
    return _verdicts[0](per_dimension, threshold)
