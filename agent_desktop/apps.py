from django.apps import AppConfig


class AgentDesktopConfig(AppConfig):
    name = "agent_desktop"
    verbose_name = "Agent desktop"

    def ready(self):
        from agent_desktop import assignment  # noqa: F401 (connects its signal receivers)
