from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Treatment summaries"

    def ready(self):
        from reports import receivers  # noqa: F401  (connects the signal receivers)
