"""Login rate limiting (django-axes): whose address is counted, and what a locked-out login
sees."""

import ipaddress

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    """The login form again, saying why logging in is paused (HTTP 429). Nothing tells whether
    the username exists: any username gets the same answer after the same failures."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "form": AuthenticationForm(request, initial={"username": username[:150]}),
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "lockout": (
            f"Too many failed logins for this username from your network: logging in is paused "
            f"for {minutes} minutes. Try again later, or ask an admin to reset your password."
        ),
    }
    return render(request, "registration/login.html", context, status=429)


def client_ip_address(request):
    """The address failed logins are counted for (AXES_CLIENT_IP_CALLABLE).

    Behind our TLS proxy every connection comes from the proxy, so it is the last address of
    X-Forwarded-For: the one the proxy appended. Addresses before it are whatever the client
    sent and prove nothing. Without the proxy, the header is the client's own and ignored: the
    connection's address is the only one a client cannot choose.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    if not settings.BEHIND_TLS_PROXY:
        return remote_addr
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:  # no header (a request that did not come through the proxy)
        return remote_addr
