from django.urls import path

from coding.views import coder as views
from coding.views import gold as views_gold
from coding.views import lead as views_lead
from coding.views import operator as views_operator
from coding.views import pairwise as views_pairwise
from coding.views import reconcile as views_reconcile

from .urls_import import urlpatterns as import_patterns
from .urls_people import urlpatterns as people_patterns
from .urls_reconcile import urlpatterns as reconcile_patterns

app_name = "coding"

urlpatterns = [
    path("new/", views_lead.study_create_view, name="study-create"),
    path("rubrics/", views_lead.rubric_list, name="rubric-list"),
    path(
        "rubrics/<int:rubric_id>/export.json",
        views_lead.rubric_export_view,
        name="rubric-export",
    ),
    path("<int:study_id>/", views_lead.study_detail, name="study-detail"),
    path("<int:study_id>/open/", views_lead.study_open_view, name="study-open"),
    # The design matrix is the "design" export (one code path, logged like every export).
    path(
        "<int:study_id>/design-matrix.csv",
        views_reconcile.export_csv,
        {"kind": "design"},
        name="design-matrix",
    ),
    path("<int:study_id>/operator/", views_operator.study_operator, name="study-operator"),
    path("<int:study_id>/queue/", views.queue, name="queue"),
    path("<int:study_id>/next/", views.next_item, name="next-item"),
    path("<int:study_id>/items/<str:code>/", views.code_item, name="code-item"),
    path("<int:study_id>/items/<str:code>/save/", views.save_item, name="save-item"),
    path("<int:study_id>/items/<str:code>/submit/", views.submit_item, name="submit-item"),
    path(
        "<int:study_id>/items/<str:code>/feedback/",
        views_gold.gold_feedback_view,
        name="gold-feedback",
    ),
    path("<int:study_id>/gold/", views_gold.gold_page, name="gold"),
    path("<int:study_id>/gold/settings/", views_gold.gold_settings_view, name="gold-settings"),
    path("<int:study_id>/gold/import/", views_gold.gold_import_view, name="gold-import"),
    path("<int:study_id>/gold/set/", views_gold.gold_set_view, name="gold-set"),
    path(
        "<int:study_id>/gold/retry/",
        views_gold.qualification_retry_view,
        name="qualification-retry",
    ),
    path("<int:study_id>/pairs/", views_pairwise.pair_queue, name="pair-queue"),
    path("<int:study_id>/pairs/next/", views_pairwise.next_pair, name="next-pair"),
    path("<int:study_id>/pairs/<str:code>/", views_pairwise.code_pair, name="code-pair"),
    path(
        "<int:study_id>/pairs/<str:code>/submit/",
        views_pairwise.submit_pair,
        name="submit-pair",
    ),
]

urlpatterns += import_patterns
urlpatterns += reconcile_patterns
urlpatterns += people_patterns
