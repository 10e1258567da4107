"""Search across names and message text, through the database's full-text index (PostgreSQL's
GIN index or SQLite's FTS5 table), and the highlighting of hits. Run on both databases."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agent_desktop import search
from agent_desktop.models import Message


@pytest.fixture
def api(agent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")
    return client


def write(contact, text, *, minutes_ago=1, mid=None):
    return Message.objects.create(
        contact=contact,
        direction="in",
        text=text,
        mid=mid,
        sent_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def found(api, query):
    results = api.get("/api/contacts/", {"q": query}).json()["results"]
    return sorted(r["first_name"] for r in results)


def test_words_in_any_message_find_the_contact(api, make_contact):
    maria = make_contact("6500000000000001", first_name="Maria")
    make_contact("6500000000000002", first_name="Order")  # a name that matches too
    make_contact("6500000000000003", first_name="Lena")
    write(maria, "Where are my Orders #4521? They were due Monday.")

    assert found(api, "order") == ["Maria", "Order"]  # a word's prefix, any case
    assert found(api, "orders 4521") == ["Maria"]  # every word must match
    assert found(api, "orders tuesday") == []
    assert found(api, "lena") == ["Lena"]  # names as before
    assert found(api, "hello") == ["Lena", "Maria", "Order"]  # make_contact's first message


def test_the_index_follows_edits_and_deletions(api, make_contact):
    maria = make_contact("6500000000000001", first_name="Maria")
    message = write(maria, "my parcel is late")
    assert found(api, "parcel") == ["Maria"]
    Message.objects.filter(pk=message.pk).update(text="my package is late")
    assert found(api, "parcel") == [] and found(api, "package") == ["Maria"]
    message.delete()
    assert found(api, "package") == []


def test_operators_and_punctuation_are_words_not_syntax(api, make_contact):
    maria = make_contact("6500000000000001", first_name="Maria")
    write(maria, "refund NOT received")
    for query in ['refund" OR "x', "refund AND", "NOT", "(refund)", "refund*", "-refund", "::"]:
        response = api.get("/api/contacts/", {"q": query})
        assert response.status_code == 200, query
    assert found(api, 'refund" OR "x') == []  # "refund", "OR" and "x" must all be there
    assert found(api, "(refund)") == ["Maria"]
    assert found(api, "::") == ["Maria"]  # no words: no filter


def test_the_desktop_lists_the_matching_snippet_highlighted(client, agent, make_contact):
    maria = make_contact("6500000000000001", first_name="Maria")
    write(maria, "Hi! Where is my order #4521 <b>now</b>?", minutes_ago=3)
    write(maria, "Thanks", minutes_ago=0)
    client.force_login(agent)
    html = client.get("/desktop/", {"q": "order"}).content.decode()
    assert 'data-testid="search-snippet"' in html
    assert "my <mark>order</mark> #4521 &lt;b&gt;now&lt;/b&gt;?" in html

    page = client.get(f"/desktop/contacts/{maria.pk}/", {"q": "order"}).content.decode()
    assert "Where is my <mark>order</mark> #4521 &lt;b&gt;now&lt;/b&gt;?" in page
    assert "<b>now</b>" not in page


def test_the_search_uses_this_databases_full_text_index(make_contact):
    contact = make_contact("6500000000000001")
    write(contact, "searchable words")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'agent_desktop_message_text_fts'"
            )
            (definition,) = cursor.fetchone()
            assert "gin" in definition.lower() and "to_tsvector" in definition
            # The search's own expression is the indexed one: the planner can use the index.
            subquery, params = search.matching_message_ids(["searchable"]).as_sql(None, None)
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {subquery}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "agent_desktop_message_text_fts" in plan, plan
        else:
            cursor.execute(
                "SELECT count(*) FROM agent_desktop_message_fts "
                "WHERE agent_desktop_message_fts MATCH 'searchable'"
            )
            assert cursor.fetchone() == (1,)


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        ("Order <script>", ["order"], "<mark>Order</mark> &lt;script&gt;"),
        ("orders and reorder", ["order"], "<mark>orders</mark> and reorder"),
        ("a & b", [], "a &amp; b"),
    ],
)
def test_highlight_escapes_and_marks_word_prefixes(text, words, expected):
    assert search.highlight(text, words) == expected


def test_a_snippet_is_cut_around_the_first_hit():
    text = "x" * 200 + " the order " + "y" * 200
    snippet = search.snippet(text, ["order"])
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>order</mark>" in snippet and len(snippet) < 160


def test_another_campaigns_messages_are_never_found(api, make_contact, other_entry_point):
    theirs = make_contact("6500000000000009", first_name="Theodora", entry_point_=other_entry_point)
    write(theirs, "their secret refund words")
    assert found(api, "secret") == [] and found(api, "refund words") == []


def test_the_open_conversation_keeps_highlighting_while_it_refreshes(client, agent, make_contact):
    maria = make_contact("6500000000000001", first_name="Maria")
    write(maria, "my order is late")
    client.force_login(agent)
    page = client.get(f"/desktop/contacts/{maria.pk}/", {"q": "order late"}).content.decode()
    assert 'hx-get="/desktop/poll/?q=order+late"' in page  # the desk's one poll keeps the search
    poll = re.search(r"hx-vals='([^']*)'", page[page.index('id="desk-poll"') :]).group(1)
    write(maria, "still late")  # a change: the poll draws the conversation again
    live = client.get(
        "/desktop/poll/", {"q": "order late", **json.loads(poll)}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "my <mark>order</mark> is <mark>late</mark>" in live
