"""axe-core over the main pages: no WCAG 2.1 A/AA violation, for each persona's pages."""

import pytest
from django.urls import reverse

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_the_login_page_is_accessible(page, assert_accessible):
    page.goto(reverse("login"))
    assert_accessible(page)


def test_the_builder_pages_are_accessible(page, admin_user, connected_page, assert_accessible):
    log_in(page, admin_user.username)
    entry_point = connected_page.entry_point
    for url in (
        reverse("campaigns:list"),
        entry_point.campaign.get_absolute_url(),
        entry_point.get_absolute_url(),
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert_accessible(page, url)


def test_the_desktop_is_accessible(page, agent, connected_page, assert_accessible):
    log_in(page, agent.username)
    page.goto(reverse("agent_desktop:home"))
    page.wait_for_load_state("networkidle")
    assert_accessible(page)


def test_axe_finds_a_violation_when_there_is_one(page, assert_accessible):
    page.goto(reverse("login"))
    page.evaluate("document.querySelector('#id_username').removeAttribute('id')")
    with pytest.raises(AssertionError, match="label"):
        assert_accessible(page)
