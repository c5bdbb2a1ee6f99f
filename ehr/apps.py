from django.apps import AppConfig


class EhrConfig(AppConfig):
    name = "ehr"
    verbose_name = "Clinic records core"

    def ready(self):
        from ehr import signals  # noqa: F401  (login audit receivers)
