"""Compatibility names for the scrubber, which lives in ``coding.scrubbing``.

``REDACTED`` is the one uniform marker; ``default_rules`` the built-in rules;
``literal_rule`` every spelling of some names (see ``coding.scrubbing.names``).
"""

from __future__ import annotations

from coding.scrubbing import MARKER as REDACTED
from coding.scrubbing import MODEL_FAMILIES, VENDORS, Rule, Scrubber
from coding.scrubbing import builtin_rules as default_rules
from coding.scrubbing import names_rule as literal_rule

__all__ = [
    "MODEL_FAMILIES",
    "REDACTED",
    "VENDORS",
    "Rule",
    "Scrubber",
    "default_rules",
    "literal_rule",
]
