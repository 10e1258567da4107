"""Labels on contacts."""

from agent_desktop.models import Label


class UnknownLabels(Exception):
    def __init__(self, names):
        super().__init__(f"No such label: {', '.join(sorted(names))}.")
        self.names = names


def contact_set_labels(*, contact, names):
    """Make the contact's labels exactly `names` (all must exist). Returns the labels."""
    wanted = set(names)
    labels = list(Label.objects.filter(name__in=wanted))
    missing = wanted - {label.name for label in labels}
    if missing:
        raise UnknownLabels(missing)
    contact.labels.set(labels)
    return labels
