"""What the transcripts app tells claim reports about a study's conditions.

Registered with ``coding.hooks.register_provenance`` in ``TranscriptsConfig.ready()``, so
the audit app reads scaffold hashes and run cards without importing this app.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class TranscriptProvenance:
    def scaffold_hashes(self, code: str, versions: set[int]) -> set[str]:
        from .models import Scaffold

        rows = Scaffold.objects.filter(code=code, version__in=versions)
        return set(rows.values_list("sha256", flat=True))

    def run_cards(self, study: Any, run_ids: set[int]) -> list[dict[str, Any]]:
        """Cards of the runs named in the key, and of the run the study was made from."""
        from .models import GenerationRun
        from .runcard import build_run_card

        runs = GenerationRun.objects.filter(pk__in=run_ids) | GenerationRun.objects.filter(
            study=study
        )
        cards = []
        for run in runs.distinct().order_by("pk"):
            try:
                cards.append(build_run_card(run))
            except Exception:  # noqa: BLE001 - a broken run card must not block the report
                log.warning("run card for run %s failed", run.pk, exc_info=True)
        return cards

    def run_card_markdown(self, card: dict[str, Any]) -> str:
        from .runcard import run_card_markdown

        return run_card_markdown(card)


PROVENANCE = TranscriptProvenance()
