"""The visitor API, `/webchat/<widget_key>/…`: what the widget on a customer's website calls.

Cross-origin by design: a request whose `Origin` is one of the entry point's allowed origins
gets the CORS headers naming that origin; any other origin (or none) gets 403 without them, so
a browser on another site can't read anything. The visitor is named by a signed token in
`Authorization: Bearer …` (webchat.tokens), never by a cookie: the views are `csrf_exempt`
because CSRF protects cookie-authenticated requests, and nothing here is authenticated by one.
"""

import json
from functools import wraps

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from agent_desktop import media
from agent_desktop.models import Message
from config.auth import client_ip_address
from webchat import colors, conversation, csat, limits, throttle, tokens
from webchat.forms import VisitorDetailsForm
from webchat.models import WebChatSettings
from webchat.user_agents import user_agent_summary

CORS_HEADERS = {
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Max-Age": "600",
    # A cross-origin script reads only the safelisted response headers unless told otherwise:
    # the widget needs Retry-After to wait out a rate limit.
    "Access-Control-Expose-Headers": "Retry-After",
}
NOT_THIS_WEBSITE = "This website may not use this chat."


class Refused(Exception):
    """A request answered with `status` and {"detail": message}."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _detail(status, message, headers=None):
    response = JsonResponse({"detail": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def visitor_endpoint(*methods, authenticated=True):
    """The view of one visitor API path: finds the chat by its key (404), checks the origin
    (403), answers the preflight, checks the method (405) and, when `authenticated`, the
    visitor token (401); then adds the CORS headers to whatever the view answers."""

    def decorate(view):
        @csrf_exempt  # token-authenticated, no cookie: see the module's docstring
        @wraps(view)
        def endpoint(request, widget_key, *args, **kwargs):
            settings_row = (
                WebChatSettings.objects.select_related("entry_point__campaign")
                .filter(widget_key=widget_key, entry_point__is_archived=False)
                .first()
            )
            if settings_row is None:
                return _detail(404, "No such chat.")
            origin = request.headers.get("Origin", "")
            if origin not in settings_row.allowed_origins:
                return _detail(403, NOT_THIS_WEBSITE)
            response = _answer(request, settings_row, view, methods, authenticated, args, kwargs)
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
            response["Cache-Control"] = "no-store"
            for name, value in CORS_HEADERS.items():
                response[name] = value
            return response

        return endpoint

    return decorate


def _answer(request, settings_row, view, methods, authenticated, args, kwargs):
    if request.method == "OPTIONS":
        return HttpResponse(status=204)
    if request.method not in methods:
        return _detail(405, f"Use {' or '.join(methods)}.", {"Allow": ", ".join(methods)})
    try:
        if authenticated:
            token = tokens.bearer_token(request)
            if not token:
                raise Refused(401, "Send the visitor token as `Authorization: Bearer <token>`.")
            try:
                visitor = tokens.visitor_of(token, settings_row=settings_row)
            except tokens.InvalidToken as exc:
                raise Refused(401, str(exc)) from exc
            return view(request, settings_row, visitor, *args, **kwargs)
        return view(request, settings_row, *args, **kwargs)
    except Refused as refused:
        response = _detail(refused.status, refused.message, refused.headers)
        if refused.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="webchat"'
        return response


# --- Reading requests -------------------------------------------------------------------------
def _json_body(request):
    """The request's JSON object (an empty body is {}); 413 when too large, 400 otherwise."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > limits.MAX_JSON_BYTES:
        raise Refused(413, f"The body can be at most {limits.MAX_JSON_BYTES // 1024} KB.")
    body = request.body
    if len(body) > limits.MAX_JSON_BYTES:
        raise Refused(413, f"The body can be at most {limits.MAX_JSON_BYTES // 1024} KB.")
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, "The body is not JSON.") from exc
    if not isinstance(data, dict):
        raise Refused(400, "The body must be a JSON object.")
    return data


def _strings(data, names):
    """The named fields of `data` that are present; 400 if one is not a string."""
    wrong = [name for name in names if name in data and not isinstance(data[name], str)]
    if wrong:
        raise Refused(400, f"{', '.join(wrong)}: must be text.")
    return {name: data[name] for name in names if name in data}


def _limited(*checks):
    limited = throttle.first_limited(*checks)
    if limited is not None:
        raise Refused(
            429,
            "Too many requests: wait a moment and try again.",
            {"Retry-After": str(limited.retry_after)},
        )


def _visitor_details(request):
    form = VisitorDetailsForm(_strings(_json_body(request), VisitorDetailsForm.base_fields))
    if not form.is_valid():
        first = next(iter(form.errors.items()))
        raise Refused(400, f"{first[0]}: {first[1][0]}")
    return form.given()


# --- The endpoints ----------------------------------------------------------------------------
@visitor_endpoint("GET", authenticated=False)
def chat_config(request, settings_row):
    entry_point = settings_row.entry_point
    return JsonResponse(
        {
            "title": entry_point.name,
            "greeting": settings_row.greeting,
            "color": settings_row.color,
            "text_color": colors.text_color_for(settings_row.color),
            "available": entry_point.campaign.is_active,
            "max_text_length": limits.MAX_TEXT_LENGTH,
            "max_upload_bytes": limits.MAX_ATTACHMENT_BYTES,
        }
    )


@visitor_endpoint("POST", authenticated=False)
def session(request, settings_row):
    """A new visitor (201), or, with a valid token, the same visitor with the fields given
    updated (200). An invalid token is refused (401): the widget then starts a new session."""
    token = tokens.bearer_token(request)
    if token:
        try:
            visitor = tokens.visitor_of(token, settings_row=settings_row)
        except tokens.InvalidToken as exc:
            raise Refused(401, str(exc)) from exc
        _limited(("calls", visitor.pk, settings.WEBCHAT_CALLS_PER_MINUTE_PER_VISITOR))
        conversation.visitor_update(visitor=visitor, details=_visitor_details(request))
        return JsonResponse({"visitor_token": token})
    address = client_ip_address(request)
    _limited(("sessions", address, settings.WEBCHAT_SESSIONS_PER_MINUTE_PER_ADDRESS))
    try:
        visitor = conversation.visitor_start(
            settings_row=settings_row,
            details=_visitor_details(request),
            user_agent=user_agent_summary(request.headers.get("User-Agent", "")),
        )
    except conversation.ChatClosed as exc:
        raise Refused(403, str(exc)) from exc
    return JsonResponse(
        {"visitor_token": tokens.visitor_token(visitor, settings_row.widget_key)}, status=201
    )


@visitor_endpoint("GET", "POST")
def messages(request, settings_row, visitor):
    if request.method == "GET":
        return _messages_list(request, settings_row, visitor)
    return _message_create(request, settings_row, visitor)


def _message_create(request, settings_row, visitor):
    _limited(
        ("messages", visitor.pk, settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR),
        (
            "messages-from",
            client_ip_address(request),
            settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_ADDRESS,
        ),
    )
    text, kept_file = _message_content(request)
    try:
        message = conversation.visitor_says(visitor=visitor, text=text, kept_file=kept_file)
    except conversation.ChatClosed as exc:
        raise Refused(403, str(exc)) from exc
    return JsonResponse(_message_json(request, settings_row, visitor, message), status=201)


def _message_content(request):
    """(text, kept file or None) of a JSON or multipart body, within the limits."""
    if request.content_type == "multipart/form-data":
        largest = limits.MAX_ATTACHMENT_BYTES + limits.MULTIPART_OVERHEAD_BYTES
        if int(request.META.get("CONTENT_LENGTH") or 0) > largest:
            raise Refused(413, _too_big())
        upload = request.FILES.get("file")
        if upload is None:
            raise Refused(400, "Send the file in the field `file`.")
        if upload.size > limits.MAX_ATTACHMENT_BYTES:
            raise Refused(413, _too_big())
        text = request.POST.get("text", "")
        kept_file = conversation.keep_file(upload)
        if kept_file.attachment["type"] != "image":
            raise Refused(400, "Only pictures can be sent here: PNG, JPEG, GIF or WebP.")
    elif request.content_type == "application/json":
        text = _strings(_json_body(request), ["text"]).get("text", "")
        kept_file = None
    else:
        raise Refused(415, 'Send JSON {"text": …} or a multipart form with `file`.')
    text = text.strip()
    if len(text) > limits.MAX_TEXT_LENGTH:
        raise Refused(400, f"A message can be at most {limits.MAX_TEXT_LENGTH} characters.")
    if not text and kept_file is None:
        raise Refused(400, "Write a message or choose a picture.")
    return text, kept_file


def _too_big():
    return f"Files can be at most {limits.MAX_ATTACHMENT_BYTES // 2**20} MB."


def _messages_list(request, settings_row, visitor):
    _limited(("calls", visitor.pk, settings.WEBCHAT_CALLS_PER_MINUTE_PER_VISITOR))
    after = _message_id(request.GET.get("after", "0") or "0", "after")
    shown = conversation.messages_for_visitor(
        visitor=visitor, after=after, limit=limits.MESSAGES_PER_POLL
    )
    conversation.mark_delivered(visitor=visitor, messages=shown)
    return JsonResponse(
        {
            "messages": [_message_json(request, settings_row, visitor, m) for m in shown],
            "agent_typing": conversation.agent_is_typing(visitor),
            "read_up_to": visitor.agent_read_up_to,
            "survey": csat.survey_for_visitor(visitor.contact),
        }
    )


def _message_id(value, name):
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Refused(400, f"{name}: a message id.")
    try:
        number = int(value)
    except ValueError as exc:
        raise Refused(400, f"{name}: a message id.") from exc
    if not 0 <= number < 2**63:
        raise Refused(400, f"{name}: a message id.")
    return number


def _message_json(request, settings_row, visitor, message):
    return {
        "id": message.pk,
        "direction": message.direction,
        "text": message.text,
        "attachments": _attachments(request, settings_row, visitor, message),
        "status": message.status,
        "created_at": message.sent_at.isoformat(),
        "author": conversation.author_of(message, settings_row.entry_point),
    }


def _attachments(request, settings_row, visitor, message):
    if not message.upload:
        return []  # only kept files: a link from elsewhere is never handed to the widget
    first = message.attachments[0] if message.attachments else {}
    path = reverse(
        "webchat:file",
        args=[
            settings_row.widget_key,
            message.pk,
            conversation.file_signature(visitor, message.pk),
        ],
    )
    return [
        {
            "type": "image" if first.get("type") == "image" else "file",
            "url": request.build_absolute_uri(path),
            "name": str(first.get("name") or "file"),
        }
    ]


@visitor_endpoint("POST")
def read(request, settings_row, visitor):
    _limited(("calls", visitor.pk, settings.WEBCHAT_CALLS_PER_MINUTE_PER_VISITOR))
    data = _json_body(request)
    if "up_to" not in data:
        raise Refused(400, "up_to: the id of the newest message shown.")
    conversation.mark_read(visitor=visitor, up_to=_message_id(data["up_to"], "up_to"))
    return HttpResponse(status=204)


@visitor_endpoint("POST")
def survey(request, settings_row, visitor):
    """The answer to the satisfaction survey: {"cycle", "rating" 1-5, "comment"?} → 204."""
    _limited(("calls", visitor.pk, settings.WEBCHAT_CALLS_PER_MINUTE_PER_VISITOR))
    try:
        csat.survey_answer(contact=visitor.contact, data=_json_body(request))
    except csat.SurveyRefused as exc:
        raise Refused(exc.status, str(exc)) from exc
    return HttpResponse(status=204)


@visitor_endpoint("POST")
def typing(request, settings_row, visitor):
    _limited(("calls", visitor.pk, settings.WEBCHAT_CALLS_PER_MINUTE_PER_VISITOR))
    conversation.visitor_typing(visitor=visitor)
    return HttpResponse(status=204)


def visitor_file(request, widget_key, message_id, signature):
    """A kept file of the conversation, by a link signed for this visitor and message (an
    `<img>` sends no token). Served as the desktop serves kept files (never sniffed, sandboxed,
    a download unless its bytes are an image), loadable by the widget on another origin."""
    message = (
        Message.objects.select_related("contact__web_visitor")
        .filter(
            pk=message_id,
            contact__entry_point__web_chat__widget_key=widget_key,
            contact__entry_point__is_archived=False,
        )
        .exclude(upload="")
        .first()
    )
    visitor = getattr(message.contact, "web_visitor", None) if message else None
    if visitor is None or not conversation.file_signature_matches(visitor, message.pk, signature):
        return _detail(404, "No such file.")
    first = message.attachments[0] if message.attachments else {}
    response = media.kept_file_response(message.upload, download_name=str(first.get("name") or ""))
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
