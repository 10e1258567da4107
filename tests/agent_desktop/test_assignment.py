"""Automatic assignment: who gets a waiting conversation (fewest open under capacity, ties to the
longest since their last assignment; online agents and supervisors of the campaign only), what
it leaves behind (activity, notification), and what sets it going (a customer writing, someone
coming online or freeing capacity, the campaign switched on, the minute's sweep)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop import assignment, presence, workflow
from agent_desktop.models import Activity, Contact, Notification
from agent_desktop.services import IncomingMessage, record_inbound
from agent_desktop.tasks import assign_waiting_contacts
from campaigns.models import Person
from campaigns.people import OFFLINE_AFTER, person_of
from campaigns.roles import ADMIN_GROUP, SUPERVISOR_GROUP


@pytest.fixture
def auto_campaign(campaign):
    campaign.auto_assign = True
    campaign.save()
    return campaign


@pytest.fixture
def member(django_user_model, auto_campaign):
    """A campaign member, online (a desktop tab just beat) unless told otherwise."""

    def make(username, *, online=True, capacity=None, **fields):
        user = django_user_model.objects.create_user(
            username, first_name=username.title(), **fields
        )
        auto_campaign.agents.add(user)
        if capacity is not None:
            presence.capacity_set(user=user, capacity=capacity)
        if online:
            presence.heartbeat(user=user, active=True)
        return user

    return make


def holding(user, n, make_contact, prefix):
    """Give `user` n open conversations (claimed by them)."""
    for i in range(n):
        contact = make_contact(f"{prefix}{i:04d}")
        workflow.contact_claim(contact=contact, agent=user)


def assigned_to(contact):
    contact.refresh_from_db()
    return contact.assigned_to


def test_a_waiting_conversation_goes_to_the_online_member_with_fewest_open(member, make_contact):
    busy, free = member("busy"), member("free")
    holding(busy, 2, make_contact, "9100")
    holding(free, 1, make_contact, "9200")
    contact = make_contact("9300")

    assert assignment.assign_next(contact) == free
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == ("assigned", free)


def test_a_member_at_capacity_is_passed_over_and_with_nobody_under_capacity_it_waits(
    member, make_contact
):
    full = member("full", capacity=1)
    holding(full, 1, make_contact, "9100")
    roomy = member("roomy", capacity=5)
    holding(roomy, 3, make_contact, "9200")
    first = make_contact("9300")
    assert assignment.assign_next(first) == roomy

    presence.capacity_set(user=roomy, capacity=4)
    second = make_contact("9301")
    assert assignment.assign_next(second) is None
    second.refresh_from_db()
    assert (second.status, second.assigned_to) == ("new", None)
    assert assignment.open_conversations(full.pk) == 1
    assert assignment.open_conversations(roomy.pk) == 4


def test_ties_go_to_the_member_assigned_longest_ago_and_never_assigned_first(member, make_contact):
    recently, long_ago, never = member("recently"), member("longago"), member("never")
    now = timezone.now()
    Person.objects.filter(user=recently).update(last_assigned_at=now - timedelta(minutes=1))
    Person.objects.filter(user=long_ago).update(last_assigned_at=now - timedelta(hours=1))

    first, second, third = make_contact("9301"), make_contact("9302"), make_contact("9303")
    assert assignment.assign_next(first) == never
    assert assignment.assign_next(second) == long_ago
    assert assignment.assign_next(third) == recently


def test_away_idle_and_offline_members_get_nothing(member, make_contact):
    said_away = member("saidaway")
    presence.presence_set(user=said_away, presence="away")
    idle = member("idle")
    Person.objects.filter(user=idle).update(last_active_at=timezone.now() - timedelta(minutes=11))
    gone = member("gone")
    Person.objects.filter(user=gone).update(
        last_seen_at=timezone.now() - (OFFLINE_AFTER + timedelta(seconds=1))
    )
    member("never_opened", online=False)
    contact = make_contact()

    assert assignment.assign_next(contact) is None
    assert assigned_to(contact) is None

    back = member("back")
    assert assignment.assign_next(contact) == back


def test_only_active_agents_and_supervisors_of_the_campaign_get_conversations(
    member, make_contact, django_user_model, other_campaign
):
    outsider = django_user_model.objects.create_user("outsider")
    other_campaign.agents.add(outsider)
    presence.heartbeat(user=outsider, active=True)
    admin = member("boss")
    admin.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    member("staffer", is_staff=True)
    leaver = member("leaver")
    leaver.is_active = False
    leaver.save()
    contact = make_contact()
    assert assignment.assign_next(contact) is None

    supervisor = member("dana")
    supervisor.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    assert assignment.assign_next(contact) == supervisor


def test_an_assignment_is_an_activity_by_the_app_a_notification_and_the_agents_last_assignment(
    member, make_contact
):
    agent = member("sam")
    contact = make_contact()
    before = timezone.now()

    assignment.assign_next(contact)

    activity = Activity.objects.get(contact=contact)
    assert (activity.kind, activity.actor, activity.target_user) == ("assigned", None, agent)
    assert workflow.activity_text(activity) == "assigned to Sam"
    notification = Notification.objects.get(user=agent)
    assert (notification.kind, notification.contact) == ("assigned", contact)
    assert Person.objects.get(user=agent).last_assigned_at >= before


def test_the_notification_reaches_the_agent_through_the_notifications_api(member, make_contact):
    agent = member("sam")
    contact = make_contact(first_name="Maria")
    assignment.assign_next(contact)

    client = APIClient()
    client.force_login(agent)
    listed = client.get("/api/notifications/?unread=1").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(n["kind"], n["contact"], n["contact_name"]) for n in rows] == [
        ("assigned", contact.pk, "Maria")
    ]


def test_an_agent_who_turned_assignment_notifications_off_gets_none(member, make_contact):
    agent = member("sam")
    Person.objects.filter(user=agent).update(notification_preferences={"assigned": False})
    assignment.assign_next(make_contact())
    assert not Notification.objects.filter(user=agent).exists()


def test_a_conversation_claimed_meanwhile_is_not_assigned_again(member, make_contact):
    agent, claimer = member("sam"), member("kim")
    contact = make_contact()
    seen_waiting = Contact.objects.get(pk=contact.pk)
    workflow.contact_claim(contact=contact, agent=claimer)

    assert assignment.assign_next(seen_waiting) is None
    assert assigned_to(contact) == claimer
    assert list(Activity.objects.values_list("kind", flat=True)) == ["claimed"]
    assert agent.assigned_contacts.count() == 0


def test_a_campaign_without_automatic_assignment_leaves_conversations_waiting(
    member, make_contact, auto_campaign
):
    auto_campaign.auto_assign = False
    auto_campaign.save()
    member("sam")
    contact = make_contact()
    assert assignment.assign_waiting(auto_campaign) == 0
    assert assignment.assign_all_waiting() == 0
    assert assigned_to(contact) is None


# --- What sets it going --------------------------------------------------------------------------
def customer_writes(contact, mid):
    record_inbound(
        contact=contact,
        incoming=IncomingMessage(sent_at=timezone.now(), text="hello?", mid=mid),
    )


def test_a_new_customer_is_assigned_once_their_message_is_committed(
    member, make_contact, django_capture_on_commit_callbacks, entry_point
):
    agent = member("sam")
    contact = Contact.objects.create(
        channel="messenger", entry_point=entry_point, external_id="6500000000000077"
    )
    with django_capture_on_commit_callbacks() as pending:
        customer_writes(contact, "m_new_1")
        assert assigned_to(contact) is None  # not inside the transaction that stores it
    for callback in pending:
        callback()
    assert assigned_to(contact) == agent


def test_a_customer_reopening_a_closed_unassigned_conversation_is_assigned(
    member, make_contact, django_capture_on_commit_callbacks
):
    contact = make_contact(status=Contact.Status.CLOSED)
    agent = member("sam")
    with django_capture_on_commit_callbacks(execute=True):
        customer_writes(contact, "m_back_1")
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == ("assigned", agent)
    assert list(Activity.objects.values_list("kind", flat=True)) == ["reopened", "assigned"]


def test_coming_online_takes_the_waiting_conversations_up_to_capacity(
    member, make_contact, django_capture_on_commit_callbacks
):
    waiting = [make_contact(f"93{i:02d}", minutes_ago=10 - i) for i in range(3)]
    agent = member("sam", online=False, capacity=2)

    with django_capture_on_commit_callbacks(execute=True):
        assert presence.heartbeat(user=agent, active=True) == "online"

    assert [assigned_to(c) for c in waiting] == [agent, agent, None]  # longest waiting first


def test_a_beat_of_someone_already_online_assigns_nothing_and_is_one_update(
    member, make_contact, django_capture_on_commit_callbacks, django_assert_num_queries
):
    agent = member("sam")
    contact = make_contact()  # arrived while nobody ran assignment
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(1):
        presence.heartbeat(user=agent, active=False)
    assert assigned_to(contact) is None


def test_back_from_away_takes_what_waits(member, make_contact, django_capture_on_commit_callbacks):
    agent = member("sam")
    presence.presence_set(user=agent, presence="away")
    contact = make_contact()
    with django_capture_on_commit_callbacks(execute=True):
        assert presence.presence_set(user=agent, presence="online") == "online"
    assert assigned_to(contact) == agent


def test_closing_frees_capacity_for_a_waiting_conversation(
    member, make_contact, django_capture_on_commit_callbacks
):
    agent = member("sam", capacity=1)
    held = make_contact("9401")
    workflow.contact_claim(contact=held, agent=agent)
    waiting = make_contact("9402")
    assert assignment.assign_next(waiting) is None

    with django_capture_on_commit_callbacks(execute=True):
        workflow.contact_close(contact=held, agent=agent)
    assert assigned_to(waiting) == agent


def test_a_transfer_frees_the_previous_holder(
    member, make_contact, django_capture_on_commit_callbacks
):
    sam = member("sam", capacity=1)
    kim = member("kim", capacity=5)
    held = make_contact("9401")
    workflow.contact_claim(contact=held, agent=sam)
    waiting = make_contact("9402")
    holding(kim, 4, make_contact, "9500")
    assert assignment.assign_next(waiting) == kim  # sam is full
    workflow.contact_release(contact=waiting, agent=kim)  # not inside the capture: stays waiting

    with django_capture_on_commit_callbacks(execute=True):
        workflow.contact_transfer(contact=held, agent=sam, to=kim)
    assert assigned_to(waiting) == sam


def test_a_released_conversation_goes_to_someone_else_never_back_to_the_releaser(
    member, make_contact, django_capture_on_commit_callbacks
):
    sam = member("sam")
    contact = make_contact()
    workflow.contact_claim(contact=contact, agent=sam)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.contact_release(contact=contact, agent=sam)
    assert assigned_to(contact) is None  # nobody else online: it waits

    kim = member("kim")
    workflow.contact_claim(contact=contact, agent=sam)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.contact_release(contact=contact, agent=sam)
    assert assigned_to(contact) == kim


def test_switching_automatic_assignment_on_gives_out_what_waits(
    member, make_contact, admin_user, django_capture_on_commit_callbacks, auto_campaign
):
    auto_campaign.auto_assign = False
    auto_campaign.save()
    agent = member("sam")
    contact = make_contact()
    client = APIClient()
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            f"/api/campaigns/{auto_campaign.pk}/", {"auto_assign": True}, format="json"
        )
    assert response.status_code == 200
    assert assigned_to(contact) == agent


def test_the_minute_sweep_assigns_what_is_still_waiting(member, make_contact):
    agent = member("sam")
    contacts = [make_contact("9601"), make_contact("9602")]
    assert assign_waiting_contacts() == 2
    assert [assigned_to(c) for c in contacts] == [agent, agent]
    assert assign_waiting_contacts() == 0  # idempotent


def test_conversations_of_an_archived_entry_point_are_nobodys_work(
    member, make_contact, entry_point
):
    member("sam")
    contact = make_contact()
    entry_point.is_archived = True
    entry_point.save()
    assert assign_waiting_contacts() == 0
    assert assigned_to(contact) is None


def test_a_snoozed_unassigned_conversation_that_wakes_is_assigned(member, make_contact):
    agent = member("sam")
    contact = make_contact(
        status=Contact.Status.SNOOZED, snoozed_until=timezone.now() - timedelta(minutes=1)
    )
    assert workflow.wake_snoozed() == 1
    assert assigned_to(contact) == agent


def test_person_of_is_made_on_first_need_with_capacity_ten(member):
    agent = member("newcomer", online=False)
    assert person_of(agent).capacity == 10
