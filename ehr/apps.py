from django.apps import AppConfig


class EhrConfig(AppConfig):
    name = "ehr"
    verbose_name = "Clinic records core"

    def ready(self):
        from ehr import checks, signals  # noqa: F401  (deploy checks, login audit receivers)
