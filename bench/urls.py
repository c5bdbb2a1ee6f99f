"""The application's URLs plus the bare DRF endpoints the benchmark compares against."""

from django.urls import path

from bench import views
from ehr.urls import urlpatterns as application_urls

urlpatterns = [
    path("bench/bare/", views.BareReadView.as_view(), name="bench-bare"),
    path("bench/bare/patients/", views.BarePatientList.as_view(), name="bench-bare-patients"),
    path(
        "bench/bare/patients/<int:pk>/",
        views.BarePatientDetail.as_view(),
        name="bench-bare-patient",
    ),
    path(
        "bench/bare/sessions/<int:pk>/",
        views.BareSessionDetail.as_view(),
        name="bench-bare-session",
    ),
    path(
        "bench/bare/sessions/<int:session_pk>/vitals/",
        views.BareVitalsList.as_view(),
        name="bench-bare-session-vitals",
    ),
    path("bench/bare/summaries/", views.BareSummaryList.as_view(), name="bench-bare-summaries"),
    path(
        "bench/bare/vitals/<int:session_pk>/",
        views.BareVitalsView.as_view(),
        name="bench-bare-vitals",
    ),
    *application_urls,
]
