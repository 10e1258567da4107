"""Fixtures of website chat: an entry point with allowed origins, and a visitor API client
that talks as a widget on a website does (Origin header, Bearer token), over the real views."""

import json

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from webchat import services

SHOP = "https://shop.example.com"
OTHER_SITE = "https://evil.example.net"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def chat_entry_point(campaign):
    entry_point = services.web_chat_entry_point_create(campaign=campaign, name="Acme website chat")
    chat = entry_point.web_chat
    chat.allowed_origins = [SHOP, "http://127.0.0.1:8001"]
    chat.save()
    return entry_point


@pytest.fixture
def chat(chat_entry_point):
    return chat_entry_point.web_chat


class Widget:
    """A widget on `origin`: JSON calls to /webchat/<key>/…, with the token once it has one."""

    def __init__(self, key, origin=SHOP):
        self.client = Client()
        self.key, self.origin, self.token = key, origin, None

    def url(self, path):
        return f"/webchat/{self.key}/{path}"

    def headers(self, token=None):
        headers = {"Origin": self.origin} if self.origin else {}
        token = token or self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def get(self, path, token=None, **params):
        return self.client.get(self.url(path), params, headers=self.headers(token))

    def post(self, path, data=None, token=None):
        body = json.dumps(data if data is not None else {})
        return self.client.post(
            self.url(path), body, content_type="application/json", headers=self.headers(token)
        )

    def upload(self, name, data, text="", token=None):
        payload = {"file": SimpleUploadedFile(name, data, content_type="image/png")}
        if text:
            payload["text"] = text
        return self.client.post(self.url("messages/"), payload, headers=self.headers(token))

    def start(self, **details):
        response = self.post("session/", details)
        assert response.status_code == 201, response.content
        self.token = response.json()["visitor_token"]
        return self.token

    def say(self, text):
        response = self.post("messages/", {"text": text})
        assert response.status_code == 201, response.content
        return response.json()


@pytest.fixture
def widget(chat):
    return Widget(chat.widget_key)
