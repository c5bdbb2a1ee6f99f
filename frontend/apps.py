from django.apps import AppConfig


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = "Staff web UI"

    def ready(self):
        from frontend import middleware  # noqa: F401  (records the sign-in time in the session)
