"""Notices on the lead's study page that other apps provide (e.g. audit's drift flags).

Coding owns this plain list and never imports the providers: audit registers its
function in ``AuditConfig.ready`` (the dependency stays audit -> coding). A provider takes
the study and returns notices {"level": "warning", "text": ..., "url": ...}.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .models import Study

Notice = dict[str, Any]
PROVIDERS: list[Callable[[Study], list[Notice]]] = []
log = logging.getLogger(__name__)


def study_notices(study: Study) -> list[Notice]:
    notices: list[Notice] = []
    for provider in PROVIDERS:
        try:
            notices.extend(provider(study))
        except Exception:  # noqa: BLE001 - a broken panel must not take the dashboard down
            log.warning("study notice provider failed", exc_info=True)
    return notices
