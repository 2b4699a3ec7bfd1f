from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from config import views
from members import urls as members_urls
from members.webhooks import WebhookView

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Redoc styles itself with injected <style> elements and searches in a blob: worker.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    # Platform webhooks: public, authenticated by each platform's signature (members.webhooks).
    path(
        "hooks/<slug:community_slug>/<slug:platform>/",
        WebhookView.as_view(),
        name="webhook",
    ),
    path("c/<slug:community_slug>/", include(members_urls.community_urlpatterns)),
    path("", include(members_urls.urlpatterns)),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
