"""The two baselines the webhook is measured against, served by the same gunicorn in the same run.

Mounted only when BENCH_BASELINES=1 (config/urls.py), i.e. only by bench/run.py; never in a
deployment.

- `bare`: Django's floor — routing and the middleware stack, nothing else.
- `durable`: the least a correct webhook receiver must do before answering 200: check the
  HMAC-SHA256 of the raw body and store the body durably (one INSERT, autocommit). The real
  webhook adds the page lookup by key, the App Secret's decryption, the JSON check and the
  enqueue; the benchmark's ratio says what those cost.
"""

import hashlib
import hmac

from django.db import connection
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from bench.fixtures import BENCH_PAGE

RAW_TABLE = "bench_raw_delivery"
CREATE_RAW_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} ("
    " id bigserial PRIMARY KEY,"
    " received_at timestamptz NOT NULL DEFAULT now(),"
    " body text NOT NULL)"
)
_SECRET = BENCH_PAGE["app_secret"].encode()


@csrf_exempt
def bare(request):
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
def durable(request):
    body = request.body
    header = request.headers.get("X-Hub-Signature-256", "")
    expected = "sha256=" + hmac.new(_SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header.encode(), expected.encode()):
        return HttpResponse("bad signature", status=403, content_type="text/plain")
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {RAW_TABLE} (body) VALUES (%s)", [body.decode()])
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")
