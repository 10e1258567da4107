from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from campaigns.selectors import campaigns_for_user


@login_required
def desktop(request):
    """The agent's landing page. The live contact queue arrives with the ingestion work."""
    campaigns = campaigns_for_user(request.user).filter(is_active=True)
    return render(request, "agent_desktop/desktop.html", {"campaigns": campaigns})
