"""What Messenger keeps of a contact in `Contact.channel_details` (see agent_desktop.models):
the keys it writes, and how they read when missing."""

GENDER = "gender"  # the User Profile API's, when the page may ask for it
ANSWERED_ELSEWHERE = "answered_elsewhere"  # another app owns the conversation (routing)


def gender(contact):
    return str(contact.channel_details.get(GENDER) or "")


def answered_elsewhere(contact):
    return bool(contact.channel_details.get(ANSWERED_ELSEWHERE))
