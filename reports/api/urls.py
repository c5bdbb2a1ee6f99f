from rest_framework.routers import SimpleRouter

from reports.api.views import TreatmentSummaryViewSet

router = SimpleRouter()
router.register("summaries", TreatmentSummaryViewSet, basename="summary")

urlpatterns = router.urls
