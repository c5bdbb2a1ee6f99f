"""``/api/v1/``: the core endpoints here, each app's under its own module."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from ehr.api import views

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("", include(router.urls)),
    path("", include("patients.api.urls")),
    path("", include("sessions.api.urls")),
    path("", include("reports.api.urls")),
]
