"""What the agent desktop shows of a Messenger contact, through the hooks the Facebook Page kind
registers (messenger.apps; the desktop calls them by agent_desktop.channels)."""

from agent_desktop.channels import ContactNotice, RepliesBlocked
from messenger.contact_details import answered_elsewhere, gender
from messenger.models import FacebookPage

GENDERS = {"female": "Female", "male": "Male"}
# What the desktop selects with a contact it opens, for `customer_info` (no query of its own).
CONTACT_SELECT_RELATED = ("entry_point__facebook_page",)
ANSWERED_ELSEWHERE = ContactNotice(
    badge="Other app",
    title="Another app owns this conversation",
    text="Another app (for example the Page inbox) owns this conversation now: the customer "
    "may be answered there.",
)


def customer_info(contact):
    """Customer Info's Messenger lines: gender (when the page may ask for it), the PSID and the
    page the customer wrote to."""
    lines = []
    if gender(contact):
        value = gender(contact)
        lines.append(("Gender", GENDERS.get(value, value.capitalize())))
    lines.append(("PSID", contact.external_id))
    try:  # selected with the contact by the desktop (CONTACT_SELECT_RELATED)
        page_name = contact.entry_point.facebook_page.page_name
    except FacebookPage.DoesNotExist:
        page_name = ""
    lines.append(("Facebook Page", page_name or contact.entry_point.name))
    return lines


def contact_notice(contact):
    """Another app owns the conversation (standby events, a handover): say so in the desktop."""
    return ANSWERED_ELSEWHERE if answered_elsewhere(contact) else None


def replies_blocked(entry_points):
    """Facebook entry points whose token Facebook rejected: replies can't go out until an admin
    pastes a new one."""
    rejected = entry_points.filter(facebook_page__token_status=FacebookPage.TokenStatus.INVALID)
    return [
        RepliesBlocked(
            entry_point=entry_point,
            reason="Facebook rejected its Page Access Token. Messages still arrive.",
            admin_fix="Paste a new token",
            agent_fix="Ask an admin to paste a new token in the campaign builder.",
        )
        for entry_point in rejected
    ]
