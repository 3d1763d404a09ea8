"""The demo command builds the three demo studies offline and the pages render."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from coding.models import Assignment, Item, Reconciliation, Study

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.mark.django_db(transaction=True)
def test_demo_builds_studies_and_pages_render(client, settings):
    settings.DEBUG = True
    call_command("demo", password="demo-pass-123", prompts=3)
    stress = Study.objects.get(name="Demo: scaffold stress test")
    assert stress.status == Study.Status.UNBLINDED
    items = Item.objects.filter(study=stress)
    assert items.count() == 3 * 4 * 3
    dims = stress.rubric.dimensions.count()
    assert Reconciliation.objects.filter(item__study=stress).count() == items.count() * dims
    hands_on = Study.objects.get(name="Demo: code these transcripts")
    assert hands_on.status == Study.Status.OPEN
    mine = Assignment.objects.filter(item__study=hands_on, coder__username="coder1")
    assert mine.filter(status="submitted").count() == 12 and mine.filter(status="open").exists()
    # Running it again changes nothing.
    call_command("demo", password="other")
    assert Study.objects.filter(name__startswith="Demo:").count() == 4
    # The coder-quality study: gold items, every scripted coder qualified, one drifts.
    from audit.quality import study_drift
    from coding.selectors.gold import qualification_status
    from demo.quality import DRIFT_AFTER, DRIFTER, QUALITY

    quality = Study.objects.get(name=QUALITY)
    assert Item.objects.filter(study=quality, gold__isnull=False).exists()
    status = {r.coder: r.status for r in qualification_status(study=quality)}
    assert status == {
        "coder1": "pending",
        "sim-coder-a": "passed",
        "sim-coder-b": "passed",
        "sim-coder-c": "passed",
    }
    flagged = {d.coder: d.alarm_at for d in study_drift(study=quality) if d.flagged}
    assert list(flagged) == [DRIFTER] and flagged[DRIFTER] > DRIFT_AFTER

    assert client.login(username="lead", password="demo-pass-123")
    for name in ("audit:scaffold-efficacy", "audit:alignment-profiles", "audit:agreement"):
        response = client.get(reverse(name, args=[stress.pk]))
        assert response.status_code == 200, name
    from transcripts.models import JudgeCell, JudgeRun

    judge = JudgeRun.objects.get(study=stress)
    assert judge.status == JudgeRun.Status.FINISHED and not judge.counts_as_coder
    cells = JudgeCell.objects.filter(run=judge)
    assert cells.count() == items.count() and not cells.exclude(state="succeeded").exists()
    response = client.get(reverse("transcripts:judge-detail", args=[stress.pk, judge.pk]))
    assert response.status_code == 200 and b"calibration-table" in response.content
    assert client.login(username="coder1", password="demo-pass-123")
    response = client.get(reverse("coding:next-item", args=[hands_on.pk]), follow=True)
    assert response.status_code == 200 and b"Submit and next" in response.content
