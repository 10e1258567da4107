from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself as an app, so its system checks are registered at start-up."""

    name = "config"
    verbose_name = "Configuration"

    def ready(self):
        from config import checks  # noqa: F401  (registers the checks)
