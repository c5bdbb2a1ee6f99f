"""The application's URLs plus the bare DRF endpoints the benchmark compares against."""

from django.urls import path

from bench.views import BareReadView, BareVitalsView
from ehr.urls import urlpatterns as application_urls

urlpatterns = [
    path("bench/bare/", BareReadView.as_view(), name="bench-bare"),
    path("bench/bare/vitals/<int:session_pk>/", BareVitalsView.as_view(), name="bench-bare-vitals"),
    *application_urls,
]
