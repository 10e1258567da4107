from django.conf import settings

from campaigns.roles import is_campaign_admin


def roles(request):
    return {
        "is_campaign_admin": is_campaign_admin(getattr(request, "user", None)),
        "sandbox": settings.SANDBOX,
    }
