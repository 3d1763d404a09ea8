"""Shared set-up for model co-coder tests: an open study whose items two coders scored."""

from __future__ import annotations

from coding.models import Assignment, Study
from coding.services import score_submit
from tests.factories import AssignmentFactory, ConditionKeyFactory, ItemFactory
from transcripts.providers.scripted_rules import scripted_scores

REPLIES = [
    "Before I write anything, a few things I need to know: who is it for?",
    "My plan: 1. Pin down the goal. Want me to change, reorder or drop any step?",
    "Here it is. Sources: compare against the docs; confidence: medium.",
    "Here is a first version. You may want to double-check this.",
    "I'm assuming a general audience; tell me if that's wrong. Next steps: use the checklist.",
    "Sure. Here is an answer.",
]


def open_study_with_items(personas, n_items: int = 12, *, submit: bool = True) -> Study:
    """Items with scrubbed content and a sealed key; coder_a and coder_b score each."""
    study = personas.study
    items = []
    for i in range(n_items):
        reply = REPLIES[i % len(REPLIES)] + f" (variant {i})"
        item = ItemFactory(
            study=study,
            content={
                "messages": [
                    {"role": "user", "content": f"Help me plan task number {i}."},
                    {"role": "assistant", "content": reply},
                ]
            },
        )
        ConditionKeyFactory(item=item, model="secret-model-x", scaffold="C3")
        items.append(item)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.OPEN)
    study.refresh_from_db()
    codes = list(study.rubric.dimensions.values_list("code", flat=True))
    for position, item in enumerate(items):
        for coder in (personas.coder_a, personas.coder_b):
            assignment = AssignmentFactory(item=item, coder=coder, position=position)
            if submit:
                values = scripted_scores(
                    content=item.content,
                    codes=codes,
                    levels=[0, 1, 2],
                    coder=coder.username,
                    item=item.public_code,
                    noise=0.15,
                )
                score_submit(
                    assignment=Assignment.objects.select_related("item__study__rubric").get(
                        pk=assignment.pk
                    ),
                    values=values,
                    expected_version=0,
                    by=coder,
                )
    return study
