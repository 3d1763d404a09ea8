"""The coder-quality demo study: gold items, a qualification round, training mode and one
scripted coder who drifts. Only the demo command uses this.

Gold answers are what the scripted rules give (``rule_value``): the "truth" the scripted
coders approximate with their noise. ``sim-coder-c`` codes like the others for their
first ``DRIFT_AFTER`` submissions and then gets careless (half of their scores a level
off), so the drift page flags them; the demo command prints the latency.
"""

from __future__ import annotations

import random

from django.db import transaction

from coding.models import Assignment, Item, Study
from transcripts.providers.scripted_rules import rule_value, scripted_scores

QUALITY = "Demo: coder quality"
QUALITY_CODERS = ["sim-coder-a", "sim-coder-b", "sim-coder-c"]
DRIFTER = "sim-coder-c"
DRIFT_AFTER = 20
N_GOLD = 24


def _text(item: Item) -> str:
    return "\n".join(
        m["content"] for m in item.content.get("messages", []) if m["role"] == "assistant"
    )


def _gold(study: Study, lead) -> None:
    from coding.services.gold import gold_set

    dims = list(study.rubric.dimensions.all())
    items = list(Item.objects.filter(study=study).order_by("public_code"))
    for item in items[:N_GOLD]:
        text = _text(item)
        gold_set(
            item=item,
            expected={d.code: rule_value(text, d.code) for d in dims},
            explanations={
                d.code: f"Scored by the {d.code} anchor text: level {rule_value(text, d.code)}."
                for d in dims
            },
            by=lead,
        )


@transaction.atomic
def _code(study: Study, coder) -> None:
    from coding.services import score_submit

    dims = list(study.rubric.dimensions.prefetch_related("levels"))
    codes = [d.code for d in dims]
    levels = sorted({lv.value for d in dims for lv in d.levels.all()})
    queue = Assignment.objects.filter(item__study=study, coder=coder).select_related("item")
    for n, assignment in enumerate(queue.order_by("position"), start=1):
        qualifying = hasattr(assignment, "gold_role") and assignment.gold_role.attempt_id
        values = scripted_scores(
            content=assignment.item.content,
            codes=codes,
            levels=levels,
            coder=coder.username,
            item=assignment.item.public_code,
            noise=0.0 if qualifying else 0.12,  # careful in the qualification round
        )
        if coder.username == DRIFTER and n > DRIFT_AFTER:
            # Careless from here on: half the dimensions one level off (up, or down from the
            # top level, so every careless score differs), seeded by the submission number
            # so every demo run drifts the same whatever the random item codes.
            rng = random.Random(f"{coder.username}|drift|{n}")
            for entry in values.values():
                if rng.random() < 0.5:
                    up = entry["value"] < max(levels)
                    entry["value"] += 1 if up else -1
        score_submit(
            assignment=assignment, values=values, expected_version=assignment.version, by=coder
        )


QUALITY_DESCRIPTION = (
    f"{N_GOLD} gold items mixed into every queue (25 %), a qualification round of 4 gold "
    "items, training mode on. sim-coder-c drifts after 20 submissions: see Quality and Drift. "
    "coder1 can try the qualification round and the training feedback."
)


def members_add(study: Study, users: dict, coders: list[str]) -> None:
    """The demo coders and the adjudicator join ``study`` (added by its lead, logged)."""
    from coding.services import membership_add

    lead = users["lead"]
    for username in coders:
        membership_add(study=study, username=username, role="coder", by=lead)
    membership_add(study=study, username="adjudicator", role="adjudicator", by=lead)


def quality_study(users: dict, study: Study) -> Study:
    """Set gold and quality rules on a generated draft ``study`` (the demo command makes
    it from a fake-server run), open it, code it (one coder drifts) and reconcile."""
    from coding.services import reconciliation_auto_agree, study_open
    from coding.services.gold import quality_settings_update

    lead = users["lead"]
    members_add(study, users, [*QUALITY_CODERS, "coder1"])
    quality_settings_update(
        study=study, by=lead, gold_rate=25, training=True, qualification_items=4, pass_kappa=0.5
    )
    _gold(study, lead)
    study_open(study=study, by=lead)
    for username in QUALITY_CODERS:
        _code(study, users[username])
    reconciliation_auto_agree(study=study)
    _adjudicate(study, users["adjudicator"])
    return study


def _adjudicate(study: Study, adjudicator) -> None:
    """Decide every open disagreement of fully coded ordinary items by the rules' value."""
    from coding.selectors.reconcile import reconcile_queue
    from coding.services import reconciliation_decide

    dims = {d.code: d for d in study.rubric.dimensions.all()}
    items = {i.public_code: i for i in Item.objects.filter(study=study, gold__isnull=True)}
    for entry in reconcile_queue(study=study, status="open"):
        item = items[entry.item_code]
        reconciliation_decide(
            item=item,
            dimension=dims[entry.dimension_code],
            value=rule_value(_text(item), entry.dimension_code),
            method="adjudicated",
            note="Scripted adjudicator: applied the anchor text literally.",
            by=adjudicator,
        )
