from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from coding.views import home as views

from . import health
from .account import PasswordChangeView
from .auth import LoginView, ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm
admin.site.site_header = "AlignWeb administration"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", PasswordChangeView.as_view(), name="password-change"),
    path("admin/", admin.site.urls),
    path("studies/", include("coding.urls")),
    path("transcripts/", include("transcripts.urls")),
    path("audit/", include("audit.urls")),
    path("api/v1/", include("alignweb.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
