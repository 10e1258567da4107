"""Invitations: a one-time link, mailed to a new person, to set their password.

The link carries Django's password-reset token (PASSWORD_RESET_TIMEOUT: 72 hours). The token is
made of the person's password hash and last login, so it stops working as soon as a password is
set, and when a resend gives the person a new unusable password.
"""

import logging
import smtplib

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

logger = logging.getLogger(__name__)


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    # Its own salt: an invitation token is no password-reset token, and the reverse.
    key_salt = "campaigns.invitations.InvitationTokenGenerator"


invitation_tokens = InvitationTokenGenerator()


def invitation_path(user):
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("invitation", args=[uidb64, invitation_tokens.make_token(user)])


def invitation_url(user, request=None):
    """The absolute link: on PUBLIC_BASE_URL when set, else on the host the admin uses."""
    path = invitation_path(user)
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def invitation_send(user, request=None):
    """Mail the invitation; False when the mail server could not take it (logged, without the
    link: the link is a password in waiting)."""
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    context = {"user": user, "url": invitation_url(user, request), "hours": hours}
    try:
        send_mail(
            subject="You are invited to Campaign Builder",
            message=render_to_string("team/invitation_email.txt", context),
            from_email=None,  # DEFAULT_FROM_EMAIL
            recipient_list=[user.email],
        )
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("invitation not sent user=%s error=%s", user.pk, type(exc).__name__)
        return False
    logger.info("invitation sent user=%s", user.pk)
    return True
