"""The desktop's away toggle: a plain form (it works without scripts), back to where it was."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
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
