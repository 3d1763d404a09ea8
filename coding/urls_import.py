"""Two-step import URLs: upload -> preview -> confirm (items, and the condition key)."""

from django.urls import path

from coding.views import imports as views_import

urlpatterns = [
    path("<int:study_id>/import/", views_import.study_import, name="study-import"),
    path("<int:study_id>/import/key/", views_import.study_import_key, name="study-import-key"),
    path(
        "<int:study_id>/import/<str:upload_token>/",
        views_import.study_import_preview,
        name="study-import-preview",
    ),
    path(
        "<int:study_id>/import/<str:upload_token>/confirm/",
        views_import.study_import_confirm,
        name="study-import-confirm",
    ),
    path(
        "<int:study_id>/import/<str:upload_token>/discard/",
        views_import.study_import_discard,
        name="study-import-discard",
    ),
]
