"""The benchmark's page: the sandbox's demo page, which `manage.py run_fake_graph` serves.

Not real Facebook credentials; they only open the fake Graph API.
"""

from messenger.sandbox.demo import DEMO_PAGE

BENCH_PAGE = dict(DEMO_PAGE)
