from django.apps import AppConfig


class InfusionsConfig(AppConfig):
    # Imported as ``sessions``; labelled ``infusions`` so it does not clash with
    # django.contrib.sessions. App-label commands use ``infusions``.
    name = "sessions"
    label = "infusions"
    verbose_name = "Infusion sessions"
    default_auto_field = "django.db.models.BigAutoField"
