"""Customers' Facebook profiles, fetched from the fake Graph API over HTTP by the path
production uses: `messenger.tasks.fetch_profiles` (`services.fetch_profiles`), a batch of
contacts with up to eight Graph calls at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agent_desktop.models import Contact
from messenger import graph, services
from tests.conftest import PAGE

PSID = "6512345678901234"


@pytest.fixture
def customer(connected_page):
    return Contact.objects.create(
        channel="messenger", entry_point=connected_page.entry_point, external_id=PSID
    )


def profile_calls(fake_graph):
    return [c for c in fake_graph.calls if c.path == f"/{PSID}"]


def fetch(*contacts):
    """What the enqueued task does; returns the ids left to try again."""
    return services.fetch_profiles([contact.pk for contact in contacts])


def test_a_new_contact_gets_its_full_profile_and_picture(customer, fake_graph):
    fake_graph.add_profile(
        PSID, first_name="Maria", last_name="Schmidt", locale="de_DE", timezone=1, gender="female"
    )
    assert fetch(customer) == []
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Maria", "Schmidt")
    assert (customer.locale, customer.timezone, customer.channel_details["gender"]) == (
        "de_DE",
        1.0,
        "female",
    )
    assert customer.name == "Maria Schmidt"
    assert customer.profile_pic.name == f"profile_pics/{customer.pk}.png"
    assert customer.profile_pic.read().startswith(b"\x89PNG")
    (call,) = profile_calls(fake_graph)
    assert call.query["fields"] == "first_name,last_name,profile_pic,locale,timezone,gender"
    assert call.query["appsecret_proof"] == graph.appsecret_proof(
        PAGE["access_token"], PAGE["app_secret"]
    )


def test_without_extended_permissions_it_asks_for_the_basics_and_remembers(
    customer, fake_graph, connected_page
):
    fake_graph.add_page(**PAGE, denied_profile_fields={"locale", "timezone", "gender"})
    assert fetch(customer) == []
    customer.refresh_from_db()
    assert customer.first_name and customer.locale == ""
    connected_page.refresh_from_db()
    assert connected_page.profile_fields_basic_only is True
    second = Contact.objects.create(
        channel="messenger", entry_point=connected_page.entry_point, external_id="7000000000000001"
    )
    assert fetch(second) == []
    fields = [c.query["fields"] for c in fake_graph.calls if c.path.startswith("/7")]
    assert fields == ["first_name,last_name,profile_pic"]  # no refused call first


def test_a_person_without_a_profile_keeps_the_placeholder(customer, fake_graph):
    fake_graph.add_profile(PSID, none=True)
    assert fetch(customer) == []  # nothing to try again
    customer.refresh_from_db()
    assert customer.name == "Messenger user ·1234"
    assert customer.profile_fetched_at is not None
    assert "no profile" in customer.profile_error


def test_a_token_error_marks_the_entry_point_and_stops_asking(customer, fake_graph, connected_page):
    fake_graph.fail_next("190_463_token_expired")
    assert fetch(customer) == []  # no retry: the profile waits for a new token
    connected_page.refresh_from_db()
    assert connected_page.token_status == "invalid"
    assert "Messages still arrive" in connected_page.last_error
    calls = len(fake_graph.calls)
    assert fetch(customer) == []  # asked again (a new message): Facebook is not
    assert len(fake_graph.calls) == calls
    customer.refresh_from_db()
    assert customer.profile_fetched_at is None  # the sweep asks again once the token is new


@pytest.mark.parametrize(
    "error", ["2_service_unavailable", "613_rate_limit", "4_app_request_limit"]
)
def test_transient_errors_leave_the_contact_to_be_retried(customer, fake_graph, error):
    fake_graph.fail_next(error)
    assert fetch(customer) == [customer.pk]
    customer.refresh_from_db()
    assert customer.profile_fetched_at is None and not customer.first_name
    assert fetch(customer) == []  # the retry
    customer.refresh_from_db()
    assert customer.first_name


def test_a_fresh_profile_is_not_fetched_again(customer, fake_graph):
    Contact.objects.filter(pk=customer.pk).update(profile_fetched_at=timezone.now())
    assert fetch(customer) == []
    assert profile_calls(fake_graph) == []


def test_a_picture_that_is_too_big_or_not_an_image_is_refused(fake_graph):
    url = fake_graph.profile_pic_url(PSID)
    with pytest.raises(graph.MediaRefused, match="larger than"):
        graph.fetch_media(url, max_bytes=10)
    with pytest.raises(graph.MediaRefused, match="content type"):
        graph.fetch_media(url, max_bytes=10**6, content_type_prefix="video/")


def test_processing_enqueues_a_profile_fetch_for_new_contacts_only(
    deliver, payload, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        deliver(payload("01"))
    assert len(callbacks) == 1
    Contact.objects.update(profile_fetched_at=timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        deliver(payload("04"))
    assert callbacks == []


def new_customers(connected_page, n):
    return [
        Contact.objects.create(
            channel="messenger", entry_point=connected_page.entry_point, external_id=f"71{i:014d}"
        )
        for i in range(n)
    ]


def test_many_profiles_are_fetched_together_and_a_failed_one_is_left_to_retry(
    connected_page, fake_graph
):
    customers = new_customers(connected_page, 12)
    unlucky = customers[5].external_id
    fake_graph.fail_next("2_service_unavailable", path_contains=unlucky)
    assert services.fetch_profiles([c.pk for c in customers]) == [customers[5].pk]
    fetched = Contact.objects.exclude(profile_fetched_at=None)
    assert fetched.count() == 11 and not fetched.filter(external_id=unlucky).exists()
    assert all(c.profile_pic for c in fetched)
    assert services.fetch_profiles([customers[5].pk]) == []  # the retry
    assert Contact.objects.filter(profile_fetched_at=None).count() == 0


def test_the_profiles_task_asks_graph_for_eight_profiles_at_once(connected_page, fake_graph):
    from messenger.tasks import fetch_profiles

    customers = new_customers(connected_page, 12)
    # The first eight profile calls are answered only once all eight are in flight together
    # (one at a time, they would wait in vain and get a transient error each).
    fake_graph.answer_together(8, path_contains="/71")
    assert fetch_profiles.apply(args=[[c.pk for c in customers]]).successful()
    assert Contact.objects.filter(profile_fetched_at=None).count() == 0
    profile_calls = [c for c in fake_graph.calls if c.path.startswith("/71")]
    assert len(profile_calls) == 12  # none failed, none asked twice
    assert fake_graph.most_calls_at_once == services.PROFILE_FETCH_THREADS == 8


def test_the_profiles_task_retries_only_the_failed_contacts(connected_page, fake_graph):
    from messenger.tasks import fetch_profiles

    customers = new_customers(connected_page, 3)
    unlucky = customers[1].external_id
    fake_graph.fail_next("613_rate_limit", times=2, path_contains=unlucky)
    assert fetch_profiles.apply(args=[[c.pk for c in customers]]).successful()  # eager retries
    assert Contact.objects.filter(profile_fetched_at=None).count() == 0
    asked = [c.path for c in fake_graph.calls if c.path.startswith("/71")]
    assert sorted(asked) == sorted([f"/{c.external_id}" for c in customers] + [f"/{unlucky}"] * 2)


def test_a_token_error_in_a_batch_marks_the_entry_point_and_keeps_no_retry(
    connected_page, fake_graph
):
    customers = new_customers(connected_page, 3)
    fake_graph.fail_next("190_463_token_expired", times=3, path_contains="/71")
    assert services.fetch_profiles([c.pk for c in customers]) == []
    connected_page.refresh_from_db()
    assert connected_page.token_status == "invalid"
    assert Contact.objects.filter(profile_fetched_at=None).count() == 3  # asked again later


def test_the_sweep_asks_again_for_profiles_whose_fetch_was_lost(connected_page, fake_graph):
    lost, _recent, fetched, token_gone = new_customers(connected_page, 4)
    old = timezone.now() - services.PROFILE_ASK_AGAIN_AFTER - timedelta(seconds=1)
    Contact.objects.filter(pk__in=[lost.pk, fetched.pk, token_gone.pk]).update(created_at=old)
    Contact.objects.filter(pk=fetched.pk).update(profile_fetched_at=timezone.now())
    # Not the recent one (its first fetch is on its way), nor the one fetched.
    assert services.sweep_missing_profiles() == 2
    services.fetch_profiles([lost.pk])  # what the enqueued task does
    lost.refresh_from_db()
    assert lost.first_name
    connected_page.token_status = "invalid"
    connected_page.save(update_fields=["token_status"])
    assert services.sweep_missing_profiles() == 0  # the other one waits for a new token
    assert Contact.objects.get(pk=token_gone.pk).profile_fetched_at is None
