from rest_framework.routers import SimpleRouter

from patients.api import views

router = SimpleRouter()
router.register("referring-providers", views.ReferringProviderViewSet, basename="referringprovider")
router.register("patients", views.PatientViewSet, basename="patient")
router.register(
    r"patients/(?P<patient_pk>[0-9]+)/alerts", views.SafetyAlertViewSet, basename="patient-alert"
)
router.register("break-glass-accesses", views.BreakGlassAccessViewSet, basename="breakglassaccess")
router.register("consents", views.ConsentViewSet, basename="consent")
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")
router.register("assessments", views.AssessmentViewSet, basename="assessment")

urlpatterns = router.urls
