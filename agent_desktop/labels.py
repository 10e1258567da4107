"""Labels on contacts."""

from agent_desktop.contact_state import activity_record
from agent_desktop.models import Activity, Label


class UnknownLabels(Exception):
    def __init__(self, names):
        super().__init__(f"No such label: {', '.join(sorted(names))}.")
        self.names = names


def contact_set_labels(*, contact, names, actor=None):
    """Make the contact's labels exactly `names` (all must exist). Returns the labels; a change
    is a `labelled` activity in the timeline ("Alex labelled +vip -billing")."""
    wanted = set(names)
    labels = list(Label.objects.filter(name__in=wanted))
    missing = wanted - {label.name for label in labels}
    if missing:
        raise UnknownLabels(missing)
    before = set(contact.labels.values_list("name", flat=True))
    contact.labels.set(labels)
    change = [f"+{n}" for n in sorted(wanted - before)] + [f"-{n}" for n in sorted(before - wanted)]
    if change:
        activity_record(contact, Activity.Kind.LABELLED, actor, " ".join(change))
    return labels
