"""The visitor API from a real browser on other origins: Chromium's own CORS checks (preflight
with the Authorization header, reading Retry-After) pass for an allowed website and stop any
other. The widget's end-to-end test is tests/browser/test_webchat_path.py."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent_desktop.models import Message
from webchat import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class BlankPage(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>A website</title><p>Shop</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def website():
    """A website on an origin of its own (127.0.0.1 and a free port)."""
    servers = []

    def start():
        server = ThreadingHTTPServer(("127.0.0.1", 0), BlankPage)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


CONVERSE = """async ([api]) => {
  const auth = (token) => (token ? {Authorization: `Bearer ${token}`} : {});
  const json = (body, token) => ({method: "POST", body: JSON.stringify(body),
    headers: {"Content-Type": "application/json", ...auth(token)}});
  const config = await (await fetch(api + "config/")).json();
  const session = await fetch(api + "session/", json({name: "Vera", language: "fr-FR"}));
  const {visitor_token} = await session.json();
  const sent = await fetch(api + "messages/", json({text: "Bonjour"}, visitor_token));
  const list = await (await fetch(api + "messages/?after=0",
    {headers: {Authorization: `Bearer ${visitor_token}`}})).json();
  let limited = null;
  for (let n = 0; n < 3 && !limited; n++) {
    const r = await fetch(api + "messages/", json({text: "again " + n}, visitor_token));
    if (r.status === 429) limited = r.headers.get("Retry-After");
  }
  return {title: config.title, session: session.status, sent: sent.status,
          texts: list.messages.map((m) => m.text), limited};
}"""

REFUSED = """async ([api]) => {
  try { await fetch(api + "config/"); return "read"; } catch (e) { return "blocked"; }
}"""


def test_an_allowed_website_talks_to_the_api_and_another_is_stopped(
    chromium, live_server, campaign, website, settings, caplog
):
    settings.WEBCHAT_MESSAGES_PER_MINUTE_PER_VISITOR = 2
    shop, elsewhere = website(), website()
    entry_point = services.web_chat_entry_point_create(campaign=campaign, name="Shop chat")
    chat = entry_point.web_chat
    chat.allowed_origins = [shop]
    chat.save()
    api = f"{live_server.url}/webchat/{chat.widget_key}/"

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(shop)
        result = page.evaluate(CONVERSE, [api])
        assert result["title"] == "Shop chat"
        assert (result["session"], result["sent"]) == (201, 201)
        assert result["texts"] == ["Bonjour"]
        assert result["limited"] is not None and int(result["limited"]) >= 1

        page.goto(elsewhere)
        caplog.clear()
        assert page.evaluate(REFUSED, [api]) == "blocked"
        # The server answered 403 (the browser then hid even that from the page).
        assert [r.status_code for r in caplog.records if "/webchat/" in r.getMessage()] == [403]
    finally:
        context.close()
    assert Message.objects.filter(text="Bonjour", contact__channel="webchat").exists()
