import os

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from agent_desktop.api import ContactViewSet
from agent_desktop.presence_api import HeartbeatView, MeView
from agent_desktop.tools_api import CannedResponseViewSet, LabelViewSet, NotificationViewSet
from campaigns.api import AuditViewSet, CampaignViewSet, EntryPointViewSet
from campaigns.team_api import UserViewSet
from campaigns.team_views import InvitationView
from campaigns.views import home
from reports.api import AgentsView as ReportsAgentsView
from reports.api import SummaryView as ReportsSummaryView

router = DefaultRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("entry-points", EntryPointViewSet, basename="entry-point")
router.register("contacts", ContactViewSet, basename="contact")
router.register("canned-responses", CannedResponseViewSet, basename="canned-response")
router.register("labels", LabelViewSet, basename="label")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("audit", AuditViewSet, basename="audit")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("campaigns/", include("campaigns.urls")),
    path("campaigns/", include("messenger.builder_urls")),
    path("team/", include("campaigns.team_urls")),
    path("invite/<uidb64>/<token>/", InvitationView.as_view(), name="invitation"),
    path("profile/", include("agent_desktop.profile_urls")),
    path("desktop/settings/", include("agent_desktop.team_urls")),
    path("desktop/", include("agent_desktop.urls")),
    path("reports/", include("reports.urls")),
    path(f"{settings.WEBHOOK_PATH_PREFIX}/", include("messenger.urls")),
    path("webchat/", include("webchat.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/me/", MeView.as_view(), name="api-me"),
    path("api/me/heartbeat/", HeartbeatView.as_view(), name="api-heartbeat"),
    path("api/reports/summary/", ReportsSummaryView.as_view(), name="api-reports-summary"),
    path("api/reports/agents/", ReportsAgentsView.as_view(), name="api-reports-agents"),
    path("api/", include("messenger.api_urls")),
    path("api/", include(router.urls)),
    path("admin/", admin.site.urls),
]
if settings.SANDBOX:  # the fake Graph API and the customer simulator; never in production
    urlpatterns.append(path("sandbox/", include("messenger.sandbox.urls")))
if os.environ.get("BENCH_BASELINES") == "1":  # bench/run.py's baseline views; never deployed
    urlpatterns.append(path("bench/", include("bench.urls")))
