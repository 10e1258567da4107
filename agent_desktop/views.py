"""The agent desktop: the live contact queue, a conversation, Customer Info, and replies.

The page polls once for both live regions (desk_poll; agent_desktop.desk_polls) with the change
tokens they were rendered with (agent_desktop.desk_versions); when they are still current the
answer is an empty 204, read from the cache alone: no database query at all. The list and the
conversation can also be fetched (and polled) one by one: contact_list_partial and
conversation_partial.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from agent_desktop import (
    channels,
    desk_lists,
    desk_polls,
    desk_versions,
    media,
    presence,
    queue_signals,
    selectors,
    services,
    team_tools,
    workflow,
)
from agent_desktop.models import Contact, Message
from campaigns.api import id_param
from campaigns.selectors import campaigns_for_user

PAGE_SIZE = 50
ACTIONS = {
    "claim": workflow.contact_claim,
    "release": workflow.contact_release,
    "close": workflow.contact_close,
    "reopen": workflow.contact_reopen,
    "pending": workflow.contact_pending,
}
# What the desktop's Snooze menu offers.
SNOOZE_CHOICES = {
    "1h": ("1 hour", timedelta(hours=1)),
    "4h": ("4 hours", timedelta(hours=4)),
    "1d": ("1 day", timedelta(days=1)),
    "1w": ("1 week", timedelta(weeks=1)),
}


def _list_filters(request):
    filter_name = request.GET.get("filter", "all")
    if filter_name not in selectors.FILTERS:
        filter_name = "all"
    return filter_name, request.GET.get("q", "")[:100], request.GET.get("label", "")[:40]


def _draw_rows(request):
    """The list's rows for the request's filter, search and page, as HTML any desk that sees
    the same campaigns can be given (agent_desktop.desk_lists), with how many it has in all and
    the unread counts the tabs are made of."""
    filter_name, query, label = _list_filters(request)
    contacts = selectors.contact_list(
        request.user, filter_name=filter_name, query=query, label=label
    )
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    team_tools.search_snippets(page.object_list, query=query)
    context = {
        "page": page,
        "filter_name": filter_name,
        "query": query,
        "list_params": _list_params(request),
    }
    html = render_to_string("agent_desktop/partials/_contact_rows.html", context)
    return html, {
        "listed": page.paginator.count,
        "unread_by_holder": queue_signals.unread_by_holder(request.user),
    }


def _list_context(request, *, share=False, open_contact_id=None):
    """The contact list. Polls (`share`) may be given rows drawn for another desk a moment
    ago; pages draw them afresh."""
    view = desk_versions.viewer(request.user)
    rows, drawn_with, token = desk_lists.rows(
        view,
        desk_polls.poll_params(request),
        lambda: _draw_rows(request),
        open_contact_id=open_contact_id,
        share=share,
    )
    filter_name, query, label = _list_filters(request)
    return {
        **queue_signals.context(request.user, drawn_with["unread_by_holder"]),
        "filters": selectors.FILTERS,
        "filter_name": filter_name,
        "query": query,
        "label": label,
        "listed": drawn_with["listed"],
        "contact_rows": mark_safe(rows),  # noqa: S308 (drawn by our templates, escaped there)
        "list_fingerprint": token,
        "list_params": _list_params(request),
    }


def _page_list_context(request, contact=None):
    """The contact list of a whole desk page, with what its search form offers."""
    open_id = contact.pk if contact is not None else None
    return {
        **_list_context(request, open_contact_id=open_id),
        "labels": selectors.labels(),
        "broken_entry_points": selectors.entry_points_needing_attention(request.user),
    }


def _list_params(request):
    """The list's filter, search and page, to keep across links; not what a poll sends."""
    params = request.GET.copy()
    for poll_only in desk_polls.POLL_ONLY:
        params.pop(poll_only, None)
    return params.urlencode()


def _campaign_names(user):
    return list(campaigns_for_user(user).filter(is_active=True).values_list("name", flat=True))


def _contact_or_404(request, pk):
    try:
        return selectors.contact_for(request.user, pk)
    except Contact.DoesNotExist:
        raise Http404("No such contact") from None


def _conversation_context(request, contact, token=None, *, composer=True):
    """The conversation, its header and Customer Info; with the `composer` (whole pages) what
    the reply box offers too."""
    token = token or desk_versions.conversation_token(
        desk_versions.viewer(request.user), contact.pk, desk_polls.poll_params(request)
    )
    conversation, activities_after = selectors.timeline(contact)
    may_act = workflow.may_act(contact, request.user)
    # The campaign's agents, read once: whom to transfer to and whom a note may mention.
    colleagues = (
        presence.people_with_presence(selectors.campaign_agents(contact))
        if may_act or composer
        else []
    )
    return {
        "contact": contact,
        "conversation": conversation,
        "activities_after": activities_after,
        "rating": selectors.latest_rating(conversation),
        "conversation_fingerprint": token,
        "window": channels.reply_window(contact) if composer else None,
        "may_act": may_act,
        "holder_name": workflow.user_name(contact.assigned_to),
        "transfer_to": (
            [user for user in colleagues if user.pk != contact.assigned_to_id] if may_act else []
        ),
        "snooze_choices": SNOOZE_CHOICES,
        **team_tools.conversation_context(
            request, contact, colleagues=colleagues, composer=composer
        ),
    }


@login_required
def desktop(request):
    context = {
        **_page_list_context(request),
        "campaign_names": _campaign_names(request.user),
        "centre_empty": True,
    }
    return render(request, "agent_desktop/desktop.html", context)


@login_required
def contact_detail(request, pk):
    contact = _contact_or_404(request, pk)
    services.contact_mark_read(contact=contact, agent=request.user)
    services.conversation_opened(contact=contact, agent=request.user)
    context = {**_page_list_context(request, contact), **_conversation_context(request, contact)}
    return render(request, "agent_desktop/desktop.html", context)


def _list_unchanged(request, view):
    return request.GET.get("fp") == desk_polls.list_token(view, request, request.GET.get("fp"))


def _conversation_unchanged(request, view, pk):
    # A token is only ever made for a contact the user was shown (access is checked after).
    token = desk_versions.conversation_token(view, pk, desk_polls.poll_params(request))
    return request.GET.get("fp") == token


@desk_polls.poll_login_required
def desk_poll(request):
    """The page's one poll: the regions whose tokens changed, out of band, and the poll again.
    An unchanged one never gets here: agent_desktop.middleware.UnchangedDeskPollMiddleware
    answers it (checking again here would read the cache a second time)."""
    contact_id = id_param(request.GET.get(desk_polls.CONTACT))
    contact = _contact_or_404(request, contact_id) if contact_id else None  # away: for the title
    view = desk_versions.viewer(request.user)
    tokens = desk_polls.current_tokens(view, request)
    changed = desk_polls.changed_regions(request, tokens)
    if changed["conversation"]:
        # Looking at it reads it. Done before the tokens the answer carries are taken: the next
        # poll need not draw the conversation again for it.
        services.contact_mark_read(contact=contact, agent=request.user)
        tokens = desk_polls.current_tokens(view, request)
        changed = desk_polls.changed_regions(request, tokens)
    if not any(changed.values()):
        return HttpResponse(status=204)
    list_token, conversation_token = tokens
    context = {
        "contact": contact,
        "list_fingerprint": list_token,
        # Away, the conversation is not looked at: its poll keeps the token it had.
        "conversation_fingerprint": conversation_token
        or request.GET.get(desk_polls.CONVERSATION_FP, ""),
        "list_params": _list_params(request),
        "centre_empty": request.GET.get("centre") == "empty",
        "list_changed": changed["list"],
        "conversation_changed": changed["conversation"],
    }
    if changed["list"]:
        context.update(_list_context(request, share=True, open_contact_id=contact_id))
        if context["centre_empty"]:
            context["campaign_names"] = _campaign_names(request.user)
    if changed["conversation"]:
        context.update(_conversation_context(request, contact, conversation_token, composer=False))
    return render(request, "agent_desktop/partials/_desk_poll_answer.html", context)


@desk_polls.answered_from_cache(_list_unchanged)
@login_required
def contact_list_partial(request):
    """The contact list alone (its own poll: 204 while `fp` is current)."""
    if _list_unchanged(request, desk_versions.viewer(request.user)):
        return HttpResponse(status=204)
    context = _list_context(request, share=True)
    # A page with no conversation open shows an empty state that depends on the list: it is
    # swapped along with the list (out of band), e.g. when the first contact arrives.
    if request.GET.get("centre") == "empty":
        context.update(centre_empty=True, campaign_names=_campaign_names(request.user))
    return render(request, "agent_desktop/partials/_contact_list.html", context)


@desk_polls.answered_from_cache(_conversation_unchanged)
@login_required
def conversation_partial(request, pk):
    """The open conversation alone (its own poll: 204 while `fp` is current)."""
    token = desk_versions.conversation_token(
        desk_versions.viewer(request.user), pk, desk_polls.poll_params(request)
    )
    if request.GET.get("fp") == token:
        return HttpResponse(status=204)
    contact = _contact_or_404(request, pk)
    services.contact_mark_read(contact=contact, agent=request.user)
    context = _conversation_context(request, contact, token, composer=False)
    return render(request, "agent_desktop/partials/_conversation_live.html", context)


@login_required
@require_POST
def contact_action(request, pk, action):
    contact = _contact_or_404(request, pk)
    try:
        if action == "transfer":
            to_id = id_param(request.POST.get("to"))
            candidates = selectors.transfer_candidates(contact)
            to = candidates.filter(pk=to_id).first() if to_id else None
            if to is None:
                raise services.ActionRefused("Choose an agent of this campaign.")
            workflow.contact_transfer(contact=contact, agent=request.user, to=to)
            messages.success(request, f"Transferred to {to.get_full_name() or to.username}.")
        elif action == "take-over":
            workflow.contact_claim(contact=contact, agent=request.user, take_over=True)
        elif action == "snooze":
            choice = SNOOZE_CHOICES.get(request.POST.get("until", ""))
            if choice is None:
                raise services.ActionRefused("Choose how long to snooze.")
            until = timezone.now() + choice[1]
            workflow.contact_snooze(contact=contact, agent=request.user, until=until)
        elif action in ACTIONS:
            ACTIONS[action](contact=contact, agent=request.user)
        else:
            raise Http404("No such action")
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
    return redirect(_back_to(request, contact))


@login_required
@require_POST
def reply(request, pk):
    contact = _contact_or_404(request, pk)
    window = channels.reply_window(contact)
    upload = request.FILES.get("file")
    try:
        largest = channels.max_attachment_bytes(contact)
        if upload is not None and upload.size > largest:
            raise services.ActionRefused(f"Files can be at most {largest // 2**20} MB.")
        services.reply_send(
            contact=contact,
            agent=request.user,
            text=request.POST.get("text", ""),
            upload=upload,
            can_reply=window.can_reply,
            refusal=window.reason,
        )
    except services.ActionRefused as exc:
        refused = isinstance(exc, workflow.NotAllowed | workflow.Conflict)
        context = {
            **_page_list_context(request, contact),
            **_conversation_context(request, contact),
            "composer_error": str(exc),
            "composer_text": request.POST.get("text", ""),
        }
        code = (403 if isinstance(exc, workflow.NotAllowed) else 409) if refused else 400
        return render(request, "agent_desktop/desktop.html", context, status=code)
    return redirect(_back_to(request, contact))


@login_required
@require_POST
def typing(request, pk):
    """The composer's "the agent is typing" (sent by static/js/composer.js)."""
    contact = _contact_or_404(request, pk)
    services.agent_typing(contact=contact, agent=request.user)
    return HttpResponse(status=204)


@login_required
@require_POST
def retry_reply(request, pk):
    """Retry on a failed reply: the same message, queued again."""
    message = (
        Message.objects.select_related("contact")
        .filter(pk=pk, contact__in=selectors.contacts_visible_to(request.user))
        .first()
    )
    if message is None:
        raise Http404("No such message")
    try:
        services.reply_retry(message=message, agent=request.user)
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
    return redirect(_back_to(request, message.contact))


@login_required
@require_POST
def refresh_profile(request, pk):
    contact = _contact_or_404(request, pk)
    if channels.fetches_profiles(contact):
        channels.refresh_profile(contact)
        source = channels.kind_of(contact).badge_label  # "Facebook"
        messages.info(request, f"Asking {source} for the latest profile…")
    return redirect(_back_to(request, contact))


@login_required
def contact_picture(request, pk):
    contact = _contact_or_404(request, pk)
    if not contact.profile_pic:
        raise Http404("No picture")
    return media.kept_file_response(contact.profile_pic)


@login_required
def message_upload(request, pk):
    message = Message.objects.filter(
        pk=pk, contact__in=selectors.contacts_visible_to(request.user)
    ).first()
    if message is None or not message.upload:
        raise Http404("No file")
    return media.kept_file_response(message.upload, download_name=services.upload_name(message))


def kept_file(request, token):
    """A kept file by a signed link, on MEDIA_ORIGIN only (see agent_desktop.media): the link is
    the permission, made for a user allowed to see the file; no session on that origin."""
    try:
        kind, pk = media.kept_file_of(token)
    except signing.BadSignature:
        kind, pk = None, None
    if not getattr(request, "on_media_origin", False):  # never beside the app's own pages
        kind = None
    if kind == "picture":
        contact = Contact.objects.filter(pk=pk).first()
        if contact is not None and contact.profile_pic:
            return media.kept_file_response(contact.profile_pic)
    elif kind == "upload":
        message = Message.objects.filter(pk=pk).first()
        if message is not None and message.upload:
            name = services.upload_name(message)
            return media.kept_file_response(message.upload, download_name=name)
    # Plain: none of the app's pages (or their scripts) on the media origin.
    return HttpResponseNotFound("No such file", content_type="text/plain")


def _back_to(request, contact):
    url = reverse("agent_desktop:contact", args=[contact.pk])
    params = request.POST.get("list_params") or ""
    return f"{url}?{params}" if params else url
