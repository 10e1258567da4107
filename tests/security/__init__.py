"""The security suite (issue 6). Each test prints what it tried and what was kept; the lines are
gathered under "reliability and security counts" at the end of pytest's output (tests/counts.py).

- test_webhook_input.py: bad input at the webhook (fixed list and Hypothesis): status, nothing
  stored, never a 500.
- test_replay_and_routing.py: bodies replayed to another entry point, entries of pages we don't
  serve, concurrent and repeated deliveries (database constraints), events out of order.
- test_handshake.py: the verify handshake; entry points that can't check signatures fail closed.
- test_secrets_at_rest.py: encryption in the row, key rotation and `manage.py rotate_secrets`,
  a wrong key.
- test_secrets_never_leak.py: the secrets on no page, API answer, log line or error report.
- test_xss_and_csp.py: hostile text escaped everywhere, attachment URLs, the
  Content-Security-Policy (and tests/browser/test_csp_and_xss.py in Chromium).
- test_access.py: check --deploy, CSRF, campaign isolation, login rate limiting, the sandbox
  when off, SSRF.
- test_remote_urls.py: the one URL check (config.remote_urls) against a table of bypasses, names
  that resolve inside, the pinned connection, the media sources of the policy, and a webhook
  pointing inside, on a real worker, against a listener that counts connections.
- test_api_fuzz.py: Schemathesis against a running server.

Faults on real processes (worker killed, broker down, database connections dropped, Graph API
failing) are in tests/faults/.
"""
