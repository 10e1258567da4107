"""Login rate limiting: what a locked-out login sees (django-axes' AXES_LOCKOUT_CALLABLE)."""

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
