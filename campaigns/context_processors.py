from django.conf import settings

from campaigns.roles import is_campaign_admin, user_role


def roles(request):
    user = getattr(request, "user", None)
    return {
        "is_campaign_admin": is_campaign_admin(user),
        # Reports are for supervisors and admins (reports.period.visible_campaigns).
        "sees_reports": bool(user and user.is_authenticated and user_role(user) != "agent"),
        "sandbox": settings.SANDBOX,
    }
