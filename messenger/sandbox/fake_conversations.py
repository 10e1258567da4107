"""The fake Graph API's Conversations API and webhook outage, for gap recovery
(messenger.recovery): part of `FakeGraphAPI` (a mixin over its state and lock).

    fake.customer_sent(page_id, psid, mid="m_1", text="Hello")  # kept, as Facebook keeps it
    fake.drop_subscription(page_id)   # Facebook disabled the webhook: events go nowhere
    fake.delivers_events(page_id)     # False until the page is subscribed again

`GET /{page-id}/conversations?platform=messenger&fields=id,updated_time,messages{…}` lists the
page's conversations, most recently updated first, with cursor paging (`limit`, `after`), each
with the first page of its messages (newest first; `messages.limit(N){fields}`);
`GET /{conversation-id}/messages` pages on through one conversation. A conversation's messages
are the customer's (`customer_sent`) and the page's accepted sends. Like Facebook, the fake
allows 2 Conversations API calls a second per page and answers more with the rate-limit error
(613).
"""

import base64
import re
import time
from datetime import UTC, datetime

# Facebook's limit: "Your app can make 2 calls per second per Facebook Page".
CONVERSATIONS_CALLS_PER_SECOND = 2
DEFAULT_LIMIT = 25
MESSAGE_FIELDS = ("id", "created_time", "from", "to", "message")
MESSAGES_FIELD = re.compile(r"messages(?:\.limit\((\d+)\))?(?:\{([^}]*)\})?")
CONVERSATIONS_ERRORS = {
    "100_platform_required": {
        "error": {
            "message": "(#100) Param platform must be one of {instagram, messenger}",
            "type": "OAuthException",
            "code": 100,
            "fbtrace_id": "FakeGraph100",
        }
    }
}


class ConversationsMixin:
    conversations_calls_per_second = CONVERSATIONS_CALLS_PER_SECOND
    request_error = None  # the host's error type, raised with a key of its ERROR_BODIES

    # --- set-up and inspection -----------------------------------------------------------------
    def customer_sent(self, page_id, psid, *, mid, text, at=None, name=""):
        """A customer's message to the page, as Facebook keeps it in the conversation (whether
        or not a webhook delivered it)."""
        message = {"mid": mid, "psid": psid, "from_page": False, "text": text, "name": name}
        with self._lock:
            self._conversation(page_id, psid)["messages"].append(
                {**message, "at": at or datetime.now(UTC)}
            )

    def drop_subscription(self, page_id):
        """As Facebook does after an hour of failed deliveries: every app is unsubscribed from
        the page, and its events are delivered nowhere until an app subscribes again."""
        with self._lock:
            self._state.page_subscriptions.pop(page_id, None)
            self._state.dropped_webhooks.add(page_id)

    def delivers_events(self, page_id):
        """False while the page's webhook is dropped (`drop_subscription`)."""
        with self._lock:
            return page_id not in self._state.dropped_webhooks

    def _subscribed_again(self, page_id):
        with self._lock:
            self._state.dropped_webhooks.discard(page_id)

    def _conversation(self, page_id, psid):
        """(Under the lock.) The page's conversation with `psid`, made on first use."""
        conversations = self._state.conversations.setdefault(page_id, {})
        if psid not in conversations:
            conversations[psid] = {"id": f"t_{next(self._ids)}{psid[-6:]}", "messages": []}
        return conversations[psid]

    # --- requests ------------------------------------------------------------------------------
    def _route_conversations(self, method, node, edge, page, query):
        """The answer to a Conversations API request, or None when it is not one."""
        if method != "GET":
            return None
        if node in {"me", page.page_id} and edge == "conversations":
            self._count_conversations_call(page)
            return self._conversations_answer(page, query)
        if node.startswith("t_") and edge == "messages":
            self._count_conversations_call(page)
            return self._messages_answer(page, node, query)
        return None

    def _count_conversations_call(self, page):
        now = time.monotonic()
        with self._lock:
            calls = self._state.conversation_calls.setdefault(page.page_id, [])
            calls[:] = [t for t in calls if now - t < 1.0]
            if len(calls) >= self.conversations_calls_per_second:
                raise self.request_error("613_rate_limit")
            calls.append(now)

    def _conversations_answer(self, page, query):
        if query.get("platform") != "messenger":
            raise self.request_error("100_platform_required")
        found = MESSAGES_FIELD.search(query.get("fields", ""))
        with self._lock:
            conversations = [
                (c["id"], self._messages_of(page, psid, c)) for psid, c in self._conversations(page)
            ]
        conversations.sort(key=lambda item: item[1][0]["at"] if item[1] else _EPOCH, reverse=True)
        chunk, paging = _page_of(conversations, query, f"{self.url}/{page.page_id}/conversations")
        data = []
        for conversation_id, thread in chunk:
            item = {"id": conversation_id, "updated_time": _graph_time(thread[0]["at"])}
            if found:
                limit = int(found.group(1) or DEFAULT_LIMIT)
                fields = _message_fields(found.group(2))
                messages, messages_paging = _page_of(
                    thread, {"limit": limit}, f"{self.url}/{conversation_id}/messages"
                )
                item["messages"] = {
                    "data": [_message_json(m, page, fields) for m in messages],
                    "paging": messages_paging,
                }
            data.append(item)
        return {"data": data, "paging": paging}

    def _messages_answer(self, page, conversation_id, query):
        with self._lock:
            found = [
                self._messages_of(page, psid, c)
                for psid, c in self._conversations(page)
                if c["id"] == conversation_id
            ]
        if not found:
            raise self.request_error("100_33_unsupported_request")
        fields = _message_fields(query.get("fields"))
        messages, paging = _page_of(found[0], query, f"{self.url}/{conversation_id}/messages")
        return {"data": [_message_json(m, page, fields) for m in messages], "paging": paging}

    def _conversations(self, page):
        """(Under the lock.) The page's conversations: [(psid, conversation)]."""
        return list(self._state.conversations.get(page.page_id, {}).items())

    def _messages_of(self, page, psid, conversation):
        """(Under the lock.) A conversation's messages, newest first: the customer's and the
        page's accepted sends to them."""
        sent = [
            {
                "mid": s["message_id"],
                "psid": psid,
                "from_page": True,
                "text": (s["message"] or {}).get("text", ""),
                "at": s["at"],
            }
            for s in self._state.sent
            if s["psid"] == psid and s["page_id"] == page.page_id
        ]
        return sorted(conversation["messages"] + sent, key=lambda m: m["at"], reverse=True)


_EPOCH = datetime.fromtimestamp(0, UTC)


def _message_fields(raw):
    fields = [f.strip() for f in (raw or "").split(",") if f.strip()]
    return [f for f in fields if f in MESSAGE_FIELDS] or list(MESSAGE_FIELDS)


def _message_json(message, page, fields):
    customer = {"name": message.get("name") or "", "id": message["psid"]}
    the_page = {"name": page.name, "id": page.page_id}
    values = {
        "id": message["mid"],
        "created_time": _graph_time(message["at"]),
        "message": message["text"],
        "from": the_page if message["from_page"] else customer,
        "to": {"data": [customer if message["from_page"] else the_page]},
    }
    return {"id": message["mid"], **{f: values[f] for f in fields}}


def _page_of(items, query, url):
    """One page of `items` by Graph's cursor paging: (items, paging)."""
    start = _offset(query.get("after"))
    limit = max(1, min(int(query.get("limit") or DEFAULT_LIMIT), 100))
    chunk = items[start : start + limit]
    paging = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk))}}
    if start + limit < len(items):
        paging["next"] = f"{url}?limit={limit}&after={paging['cursors']['after']}"
    return chunk, paging


def _cursor(offset):
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor):
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
    except ValueError:
        return 0


def _graph_time(when):
    """Graph's time format, e.g. 2026-11-30T14:02:11+0000."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
