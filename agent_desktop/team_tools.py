"""What the desktop pages show of the team's tools: canned replies ready to insert, labels,
search hits (agent_desktop.team_views has the pages that change them)."""

from agent_desktop import canned, search, selectors


def search_snippets(rows, *, query):
    """Each listed contact's newest message matching the search (as `row.search_snippet`,
    highlighted) when the search found it by its messages."""
    words = search.search_words(query)
    hits = search.latest_hits([row.pk for row in rows], query)
    for row in rows:
        text = hits.get(row.pk)
        row.search_snippet = search.snippet(text, words) if text else ""


def conversation_context(request, contact, *, colleagues, composer=True):
    """The labels to choose from, the contact's, and the searched words to highlight; with the
    `composer`: canned replies ready to insert (placeholders filled for this contact and agent)
    and the colleagues a note may mention (of `colleagues`, the campaign's agents). A poll's
    answer has no composer (it stays as the agent left it): it needs neither."""
    context = {
        "labels": selectors.labels(),
        "contact_label_names": {label.name for label in contact.labels.all()},
        "search_words": search.search_words(request.GET.get("q", "")[:100]),
    }
    if not composer:
        return context
    responses = selectors.canned_responses_for(request.user, campaign=contact.entry_point.campaign)
    return {
        **context,
        "canned_replies": [
            {
                "shortcut": response.shortcut,
                "text": canned.fill_placeholders(
                    response.text, contact=contact, agent=request.user
                ),
            }
            for response in responses
        ],
        "mention_members": [
            {"username": user.username, "name": user.get_full_name()}
            for user in sorted(colleagues, key=lambda user: user.username)
            if user.pk != request.user.pk
        ],
    }
