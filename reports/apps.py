from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The desktop announces lifecycle changes; the cycle table follows them (reports.receivers).
        from reports import receivers  # noqa: F401
