"""Who may do what: admins manage campaigns; agents are members of campaigns."""

ADMIN_GROUP = "admin"


def is_campaign_admin(user):
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_staff or user.is_superuser:
        return True
    # Cached on the user object: templates and permission checks ask several times a request.
    if not hasattr(user, "_is_admin_group_member"):
        user._is_admin_group_member = user.groups.filter(name=ADMIN_GROUP).exists()
    return user._is_admin_group_member
