from django.apps import AppConfig


class AgentDesktopConfig(AppConfig):
    name = "agent_desktop"
    verbose_name = "Agent desktop"
