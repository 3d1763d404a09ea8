"""REST API: agreement results for the lead, and the snapshot fallback."""

from __future__ import annotations

from audit.tasks import agreement_snapshot
from coding.models import Assignment
from coding.services import score_submit
from tests.coding.conftest import (
    V1,
    as_user,
    full_values,
)

# --- agreement -------------------------------------------------------------------------------


def test_agreement_results_for_the_lead(open_study, api):
    p = open_study
    url = f"{V1}/studies/{p.study.pk}/agreement/"
    as_user(api, p.lead)
    empty = api.get(url).json()
    assert empty == {"study": p.study.pk, "snapshot": None, "results": None}
    for coder, value in ((p.coder_a, 1), (p.coder_b, 2)):
        for a in Assignment.objects.filter(item__study=p.study, coder=coder)[:4]:
            score_submit(
                assignment=a, values=full_values(p.study, value), expected_version=0, by=coder
            )
    assert api.get(url).json()["snapshot"] is None  # queued for the worker, not computed here
    agreement_snapshot(p.study.pk)  # the worker
    body = api.get(url).json()
    assert body["snapshot"]["n_submitted"] == 8
    assert body["results"]  # the snapshot's results document, as the dashboard shows it
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        assert as_user(api, user).get(url).status_code == 404


def test_agreement_falls_back_to_the_latest_snapshot(open_study, api, monkeypatch):
    """Without the audit service (ImportError) the latest stored snapshot is served."""
    import sys

    from audit.models import AgreementSnapshot

    p = open_study
    AgreementSnapshot.objects.create(study=p.study, n_submitted=3, results={"marker": 1})
    monkeypatch.setitem(sys.modules, "audit.services", None)
    body = as_user(api, p.lead).get(f"{V1}/studies/{p.study.pk}/agreement/").json()
    assert body["results"] == {"marker": 1} and body["snapshot"]["n_submitted"] == 3
