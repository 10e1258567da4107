"""The desktop's side of presence: the away toggle, a plain form (it works without scripts),
and the open tab's heartbeat (js/presence.js). The desktop's own endpoints, not the API's: the
desktop page calls no /api/ URL (tests/browser/test_upload_xss.py watches for any)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agent_desktop import presence


@login_required
@require_POST
def presence_set(request):
    wanted = request.POST.get("presence")
    if wanted in (presence.Presence.ONLINE, presence.Presence.AWAY):
        presence.presence_set(user=request.user, presence=wanted)
    else:
        messages.error(request, "Choose online or away.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("agent_desktop:home")
    return redirect(back)


@login_required
@require_POST
def heartbeat(request):
    """A beat of an open desktop tab; `active=1`: the agent used it since the last one."""
    now_presence = presence.heartbeat(user=request.user, active=request.POST.get("active") == "1")
    return JsonResponse({"presence": now_presence})
