"""/api/v1/: each app contributes its routes from its own api.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("coding.api.urls")),
    path("", include("transcripts.api_urls")),
    path("", include("audit.api_urls")),
]
