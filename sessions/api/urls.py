from django.urls import path
from rest_framework.routers import SimpleRouter

from sessions.api import views

router = SimpleRouter()
router.register("courses", views.CourseViewSet, basename="course")
router.register("sessions", views.SessionViewSet, basename="session")
router.register(
    r"sessions/(?P<session_pk>[0-9]+)/vitals", views.VitalSignViewSet, basename="session-vitals"
)
router.register(
    r"sessions/(?P<session_pk>[0-9]+)/side-effects",
    views.SideEffectViewSet,
    basename="session-side-effects",
)
router.register(
    r"sessions/(?P<session_pk>[0-9]+)/mood-notes",
    views.MoodNoteViewSet,
    basename="session-mood-notes",
)
router.register(
    r"sessions/(?P<session_pk>[0-9]+)/amendments",
    views.SessionAmendmentViewSet,
    basename="session-amendments",
)
router.register(
    "monitoring-protocol/versions",
    views.MonitoringProtocolVersionViewSet,
    basename="monitoring-protocol-version",
)

urlpatterns = [
    path(
        "monitoring-protocol/",
        views.MonitoringProtocolViewSet.as_view({"get": "current", "post": "publish"}),
        name="monitoring-protocol",
    ),
    *router.urls,
]
