"""Who may use the builder: admins only, for pages and the API alike.

Kept apart from the views so channel apps (their builder panels, the sandbox) and the desktop
can guard their own views with it without importing another app's views."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.shortcuts import render
from rest_framework import permissions

from campaigns.roles import is_campaign_admin


class AdminOnlyMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Builder pages: admins only. Agents get a 403 page that says so."""

    raise_exception = False

    def test_func(self):
        return is_campaign_admin(self.request.user)

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            return render(self.request, "403.html", status=403)
        return super().handle_no_permission()


def admin_only(view):
    """The function-view form of AdminOnlyMixin."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_campaign_admin(request.user):
            return render(request, "403.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


class IsCampaignAdmin(permissions.BasePermission):
    """The API's form of AdminOnlyMixin."""

    message = "Only campaign admins can do this."

    def has_permission(self, request, view):
        return is_campaign_admin(request.user)


class IsCampaignAdminOrReadOnly(IsCampaignAdmin):
    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or super().has_permission(request, view)
