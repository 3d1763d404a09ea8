"""Agreement URLs (namespace "audit"): the lead's dashboard and its exports."""

from django.urls import path

from . import views_agreement as v

urlpatterns = [
    path("studies/<int:study_id>/agreement/", v.agreement_dashboard, name="agreement"),
    path("studies/<int:study_id>/agreement/status/", v.agreement_status, name="agreement-status"),
    path("studies/<int:study_id>/agreement.json", v.agreement_json, name="agreement-json"),
    path("studies/<int:study_id>/agreement.csv", v.agreement_csv, name="agreement-csv"),
]
