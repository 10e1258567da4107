"""Who may do what: admins manage campaigns; agents are members of campaigns."""

ADMIN_GROUP = "admin"


def is_campaign_admin(user):
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_staff or user.is_superuser:
        return True
    _read_role_groups(user)
    return user._is_admin_group_member


def _read_role_groups(user):
    """Both role groups in one query, cached on the user object: templates and permission
    checks ask several times a request."""
    if not hasattr(user, "_is_admin_group_member") or not hasattr(
        user, "_is_supervisor_group_member"
    ):
        names = set(
            user.groups.filter(name__in=[ADMIN_GROUP, SUPERVISOR_GROUP]).values_list(
                "name", flat=True
            )
        )
        user._is_admin_group_member = ADMIN_GROUP in names
        user._is_supervisor_group_member = SUPERVISOR_GROUP in names


# A supervisor is a user with this role who belongs to a campaign (Campaign.agents): in that
# campaign they may take a conversation over from another agent. The role is per user and the
# scope is the campaign membership, the shape of issue 13's `role` + `campaigns: [ids]`.
SUPERVISOR_GROUP = "supervisor"


def user_role(user):
    """ "admin", "supervisor" or "agent"."""
    if is_campaign_admin(user):
        return "admin"
    _read_role_groups(user)
    return "supervisor" if user._is_supervisor_group_member else "agent"


def can_take_over(user, campaign):
    """Admins everywhere; supervisors in the campaigns they belong to."""
    role = user_role(user)
    if role == "admin":
        return True
    return role == "supervisor" and campaign.agents.filter(pk=user.pk).exists()
