"""What the messenger notes on a page when Facebook rejects its token (profiles, sends and the
health checks all meet it)."""

from django.utils import timezone

from messenger.models import FacebookPage


def mark_token_invalid(page, exc, *, while_doing):
    """Graph refused the page's token: show it on the entry point, where the admin looks."""
    FacebookPage.objects.filter(pk=page.pk).update(
        token_status=FacebookPage.TokenStatus.INVALID,
        last_error=(
            f"Facebook rejected the Page Access Token while {while_doing} ({exc}). "
            "Messages still arrive; paste a new token to get profiles and replies back."
        ),
        last_error_at=timezone.now(),
    )
