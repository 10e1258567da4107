"""What the desktop pages show of the team's tools: canned replies ready to insert, labels,
search hits (agent_desktop.team_views has the pages that change them)."""

from agent_desktop import canned, search, selectors


def list_context(rows, *, query, label):
    """The label filter, and each listed contact's newest message matching the search (as
    `row.search_snippet`, highlighted) when the search found it by its messages."""
    words = search.search_words(query)
    hits = search.latest_hits([row.pk for row in rows], query)
    for row in rows:
        text = hits.get(row.pk)
        row.search_snippet = search.snippet(text, words) if text else ""
    return {"labels": selectors.labels(), "label": label, "search_words": words}


def conversation_context(request, contact, *, colleagues):
    """Canned replies ready to insert (placeholders filled for this contact and agent), the
    colleagues a note may mention (of `colleagues`, the campaign's agents), the labels to choose
    from, and the searched words to highlight."""
    responses = selectors.canned_responses_for(request.user, campaign=contact.entry_point.campaign)
    return {
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
        "labels": selectors.labels(),
        "contact_label_names": {label.name for label in contact.labels.all()},
        "search_words": search.search_words(request.GET.get("q", "")[:100]),
    }
