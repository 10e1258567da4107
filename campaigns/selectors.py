from django.db.models import Count, Q

from campaigns.models import Campaign
from campaigns.roles import is_campaign_admin


def campaign_list():
    return Campaign.objects.annotate(
        entry_point_count=Count(
            "entry_points", filter=Q(entry_points__is_archived=False), distinct=True
        ),
        agent_count=Count("agents", distinct=True),
    )


def campaigns_for_user(user):
    """Campaigns a user may see: all for admins, their own for agents."""
    if is_campaign_admin(user):
        return Campaign.objects.all()
    return Campaign.objects.filter(Q(agents=user)).distinct()


def entry_points_of(campaign):
    """The campaign's entry points in use (archived ones are listed apart)."""
    return campaign.entry_points.filter(is_archived=False)


def archived_entry_points_of(campaign):
    return campaign.entry_points.filter(is_archived=True).order_by("-archived_at", "pk")
