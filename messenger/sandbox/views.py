"""The sandbox's pages: the fake Graph API served by the app, and the customer simulator.

Mounted only when settings.SANDBOX is on (development and the demo; never in production).
"""

import json

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from agent_desktop import media
from campaigns.access import admin_only
from campaigns.models import EntryPoint
from messenger.sandbox import simulator
from messenger.sandbox.fake_graph import response_headers
from messenger.setup import webhook_path

GRAPH_PREFIX = "/sandbox/graph"


@csrf_exempt  # called by the app's Graph client, which has no session and no CSRF token
def graph_api(request, path):
    """Facebook's Graph API, as the sandbox's fake answers it. Like Graph, it answers only
    valid tokens; unlike Graph, not a page of another site (see `_from_another_site`)."""
    if _from_another_site(request):
        return JsonResponse(
            {"error": {"message": "The sandbox's Graph API answers no other site's page."}},
            status=403,
        )
    raw_path = request.get_full_path()[len(GRAPH_PREFIX) :]
    # The header as sent: `request.content_type` drops its parameters, and a multipart body
    # can't be read without its boundary (the Attachment Upload API's `filedata`).
    content_type = request.META.get("CONTENT_TYPE", "")
    status, payload = simulator.sandbox_graph().handle(
        request.method, raw_path, request.body, content_type
    )
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = HttpResponse(body, status=status)
    for name, value in response_headers(status, payload).items():
        response[name] = value
    return response


def _from_another_site(request):
    """A request a browser makes for another site's page (a form or a fetch aimed at the
    developer's 127.0.0.1): the demo tokens are in the source, so such a page could drive the
    fake. The app's Graph client sends neither header; the app's own pages (the desktop shows
    the fake's pictures) are same-origin."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in {"same-origin", "none"}
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.get_host()}"


def _pages():
    return (
        EntryPoint.objects.filter(kind="facebook_page", is_archived=False)
        .select_related("campaign", "facebook_page")
        .order_by("campaign__name", "name")
    )


@admin_only
def simulator_home(request):
    error = ""
    if request.method == "POST":
        first_name = request.POST.get("first_name", "").strip()
        if not first_name:
            error = "Give the customer a first name."
        else:
            customer = simulator.make_customer(
                first_name=first_name[:40],
                last_name=request.POST.get("last_name", "")[:40],
                locale=request.POST.get("locale", "en_US")[:10],
            )
            entry_point = request.POST.get("entry_point", "")
            if entry_point.isdigit():
                return redirect("sandbox:chat", entry_point=entry_point, psid=customer.psid)
            return redirect(f"{reverse('sandbox:simulator')}?entry_point={entry_point}")
    selected = request.GET.get("entry_point") or request.POST.get("entry_point", "")
    return render(
        request,
        "sandbox/simulator.html",
        {
            "entry_points": _pages(),
            "selected": int(selected) if selected.isdigit() else None,
            "customers": simulator.customers(),
            "error": error,
            "locales": ["en_US", "de_DE", "fr_FR", "es_ES", "pt_BR", "ja_JP"],
        },
        status=400 if error else 200,
    )


def _chat_context(request, entry_point_id, psid):
    entry_point = get_object_or_404(_pages(), pk=entry_point_id)
    customer = simulator.customer(psid)
    if customer is None:
        raise Http404("No such simulated customer (the sandbox forgets them on restart)")
    return {
        "entry_point": entry_point,
        "page": entry_point.facebook_page,
        "customer": customer,
        "webhook_url": request.build_absolute_uri(webhook_path(entry_point.facebook_page))
        if entry_point.facebook_page.has_webhook
        else "",
    }


@admin_only
def simulator_chat(request, entry_point, psid):
    context = _chat_context(request, entry_point, psid)
    if request.method == "POST":
        try:
            if not context["webhook_url"]:
                raise simulator.SimulatorError("Press Get Webhook on this entry point first.")
            simulator.send(
                page=context["page"],
                webhook_url=context["webhook_url"],
                customer=context["customer"],
                kind=request.POST.get("kind", "text"),
                text=request.POST.get("text", "").strip()[:2000],
                payload=request.POST.get("payload", "")[:1000],
            )
        except simulator.SimulatorError as exc:
            context["error"] = str(exc)
        else:
            if request.headers.get("HX-Request"):
                return _thread(request, context)
            return redirect("sandbox:chat", entry_point=entry_point, psid=psid)
    return _thread(request, context, template="sandbox/chat.html")


@admin_only
def simulator_attachment(request, attachment_id):
    """A file the page sent, as the customer's Messenger would show it: an image inline (only
    when its bytes are one), anything else as a download."""
    found = simulator.attachment_content(attachment_id)
    if found is None:
        raise Http404("No such attachment")
    content, filename = found
    image_type = media.image_type(content)
    response = HttpResponse(content, content_type=image_type or media.DOWNLOAD_TYPE)
    if image_type is None:
        response["Content-Disposition"] = f'attachment; filename="{_safe_name(filename)}"'
    return response


def _safe_name(filename):
    return "".join(c for c in filename if c.isalnum() or c in "._- ")[:100] or "file"


@admin_only
def simulator_thread(request, entry_point, psid):
    return _thread(request, _chat_context(request, entry_point, psid))


def _thread(request, context, template="sandbox/partials/_thread.html"):
    if context["webhook_url"] and not context.get("error"):
        try:
            context["lines"] = simulator.thread(
                page=context["page"],
                webhook_url=context["webhook_url"],
                customer=context["customer"],
            )
        except simulator.SimulatorError as exc:
            context["error"] = str(exc)
    context.setdefault("lines", list(context["customer"].lines))
    return render(request, template, context, status=400 if context.get("error") else 200)
