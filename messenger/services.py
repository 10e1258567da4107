"""The messenger's operations, named in one place for the callers outside the package that drive
them (tests, bench/run.py, scripts). Each lives in the module of its concern:

- `signatures`: the webhook's signature check;
- `ingest`: storing a verified body (one raw INSERT) and waking a worker;
- `delivery_queue`: sending tasks (by name) past broker outages, the sweeps, an admin's retry;
- `processing`: applying stored deliveries in batches, routing events to pages and contacts;
- `profiles`: customers' profiles from the User Profile API;
- `tokens`: what a page shows once Facebook rejects its token.

The package's own modules import those modules, never this one.
"""

from messenger.delivery_queue import (
    enqueue,
    enqueue_processing,
    retry_delivery,
    sweep_stale_deliveries,
    wake_workers,
)
from messenger.ingest import MAX_BODY_BYTES, store_delivery
from messenger.processing import (
    CAMPAIGN_INACTIVE,
    DRAIN_SECONDS,
    ENTRY_POINT_ARCHIVED,
    LINGER_SECONDS,
    MAX_PROCESSING_ATTEMPTS,
    NO_CONVERSATION_YET,
    process_deliveries,
    process_delivery,
    record_processing_failure,
)
from messenger.profiles import (
    PROFILE_ASK_AGAIN_AFTER,
    PROFILE_FETCH_THREADS,
    enqueue_profile_fetch,
    enqueue_profile_refresh,
    fetch_profiles,
    sweep_missing_profiles,
)
from messenger.signatures import SignatureInvalid, verify_signature
from messenger.tokens import mark_token_invalid

__all__ = [
    "CAMPAIGN_INACTIVE",
    "DRAIN_SECONDS",
    "ENTRY_POINT_ARCHIVED",
    "LINGER_SECONDS",
    "MAX_BODY_BYTES",
    "MAX_PROCESSING_ATTEMPTS",
    "NO_CONVERSATION_YET",
    "PROFILE_ASK_AGAIN_AFTER",
    "PROFILE_FETCH_THREADS",
    "SignatureInvalid",
    "enqueue",
    "enqueue_processing",
    "enqueue_profile_fetch",
    "enqueue_profile_refresh",
    "fetch_profiles",
    "mark_token_invalid",
    "process_deliveries",
    "process_delivery",
    "record_processing_failure",
    "retry_delivery",
    "store_delivery",
    "sweep_missing_profiles",
    "sweep_stale_deliveries",
    "verify_signature",
    "wake_workers",
]
