from messenger.models import FacebookPage


def facebook_page_by_webhook_key(key):
    """The Facebook Page whose webhook URL ends in `key`, or None.

    The webhook runs this on every post Facebook makes, so it loads the page alone: no join to
    the entry point and campaign, which the webhook does not use (bench/: the join made the
    lookup cost more than the INSERT of the delivery)."""
    if not key:
        return None
    try:
        return FacebookPage.objects.get(webhook_key=key)
    except FacebookPage.DoesNotExist:
        return None
