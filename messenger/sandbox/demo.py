"""The sandbox's demo Facebook Page: known to the fake Graph API and seeded into the demo data.

These are not real Facebook credentials; they only open the fake Graph API of the sandbox.
"""

DEMO_PAGE = {
    "page_id": "112233445566778",
    "name": "Acme Support (sandbox)",
    "access_token": "EAAGsandboxDemoPageAccessToken0123456789",
    "app_id": "1234567890123456",
    "app_secret": "5a4d0b1e8c7f6a9d2b3c4e5f60718293",
}
