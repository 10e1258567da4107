"""The sample shop: a static page on an origin of its own that embeds the chat widget with the
one-line snippet, as a customer's website would, under a strict Content-Security-Policy (scripts
only from itself and the app, no inline script or style), so the demo shows the widget working
where it will really run. `manage.py serve_sample_shop` serves it for `make run`; the browser
tests serve it in a thread.

No Django here: the page is a template of this folder filled with the app's origin and the
widget key, which the caller looks up (per request, so a demo seeded again needs no restart).
"""

import html
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent
WIDGET_PATH = "/static/webchat/widget.js"
STYLESHEET = (HERE / "shop.css").read_bytes()
PAGE = Template((HERE / "index.html").read_text())
NO_KEY_NOTICE = (
    '<p class="warning">There is no website chat entry point to embed yet: run '
    "<code>python manage.py seed_demo</code> (<code>make run</code> does).</p>"
)


def content_security_policy(app_origin):
    """What a careful website sends: the widget needs its script, its API and its pictures from
    the app's origin, and nothing inline."""
    return (
        f"default-src 'self'; script-src 'self' {app_origin}; connect-src {app_origin}; "
        f"img-src {app_origin} data:; style-src 'self'"
    )


def embed_line(app_origin, widget_key):
    return f'<script src="{app_origin}{WIDGET_PATH}" data-widget-key="{widget_key}" async></script>'


def render_page(app_origin, widget_key):
    if not widget_key:
        return PAGE.substitute(embed_line="", notice=NO_KEY_NOTICE, embed_script="")
    line = embed_line(html.escape(app_origin), html.escape(widget_key))
    return PAGE.substitute(embed_line=html.escape(line), notice="", embed_script=line)


class ShopRequestHandler(BaseHTTPRequestHandler):
    app_origin = ""  # set by make_server
    widget_key = None  # a function: the key to embed now, or None
    quiet = False
    server_version = "AcmeShop"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            body = render_page(self.app_origin, self.widget_key()).encode()
            self._send(200, "text/html; charset=utf-8", body)
        elif path == "/shop.css":
            self._send(200, "text/css; charset=utf-8", STYLESHEET)
        else:
            self._send(404, "text/plain; charset=utf-8", b"Not found\n")

    def do_HEAD(self):
        self.do_GET()

    def _send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", content_security_policy(self.app_origin))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def make_server(port, *, app_origin, widget_key, host="127.0.0.1", quiet=False):
    """A server (not yet serving) for the shop at http://host:port/. `widget_key` is a function
    returning the key to embed (None: the page says how to make one)."""
    handler = type(
        "ShopHandler",
        (ShopRequestHandler,),
        {
            "app_origin": app_origin.rstrip("/"),
            "widget_key": staticmethod(widget_key),
            "quiet": quiet,
        },
    )
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
