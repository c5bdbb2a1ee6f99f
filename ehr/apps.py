from django.apps import AppConfig


class EhrConfig(AppConfig):
    name = "ehr"
    verbose_name = "Clinic records core"

    def ready(self):
        # deploy checks, login audit receivers, case folding in every script on SQLite
        from ehr import checks, database, signals  # noqa: F401
