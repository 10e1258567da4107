from django.apps import AppConfig

# At module level: campaigns.conversations imports no model, so it is safe while apps load.
from campaigns import conversations


class AgentDesktopConfig(AppConfig):
    name = "agent_desktop"
    verbose_name = "Agent desktop"

    def ready(self):
        from agent_desktop import (
            assignment,  # noqa: F401 (connects its signal receivers)
            desk_changes,
        )

        desk_changes.connect()

        # campaigns archives and erases entry points, but may not import this app.
        conversations.register(
            count="agent_desktop.selectors.conversation_counts",
            erase="agent_desktop.services.conversations_erase",
        )
