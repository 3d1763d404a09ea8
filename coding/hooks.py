"""Where other apps plug into coding, so that coding depends on none of them.

The apps depend one way: ``transcripts -> coding <- audit``. When coding needs something
done by an app that builds on it, it calls the listeners or sources registered here; the
apps register them in their ``AppConfig.ready()``:

- ``on_submit``: called with the study id after a first-pass submission commits (audit
  queues an agreement snapshot). A listener's failure is logged and never fails the submit.
- ``provenance``: where a claim report finds scaffold hashes and generation run cards for
  a study's conditions (transcripts knows them; without it a report simply has none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

SubmitListener = Callable[[int], None]
_submit_listeners: list[SubmitListener] = []


def on_submit(listener: SubmitListener) -> SubmitListener:
    """Register ``listener(study_id)`` to run after each first-pass submission commits."""
    if listener not in _submit_listeners:
        _submit_listeners.append(listener)
    return listener


def submitted(study_id: int) -> None:
    """Tell every listener that a submission of ``study_id`` committed."""
    for listener in list(_submit_listeners):
        try:
            listener(study_id)
        except Exception:  # noqa: BLE001 - a broker outage must not lose a submission
            log.warning("after-submit listener %r failed", listener, exc_info=True)


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
