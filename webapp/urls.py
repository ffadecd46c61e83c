from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


def healthz(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("api/", include("annotation.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema-file"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema-file"), name="api-docs"),
    path("", include("annotation.urls")),
]
