-- Webhook subscriptions: where an integrator wants its organization's events pushed. The
-- signing secret (and the previous one during a rotation's grace period) is encrypted per
-- field like PHI and re-encrypted by data-key rotation.
CREATE TABLE event_subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    description TEXT,
    paused BOOLEAN NOT NULL,
    disabled_reason TEXT,
    disabled_at TIMESTAMP,
    failing_since TIMESTAMP,
    secret_ct BLOB NOT NULL,
    previous_secret_ct BLOB,
    previous_secret_until TIMESTAMP,
    key_version INTEGER NOT NULL,
    deleted_at TIMESTAMP,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX event_subscriptions_org ON event_subscriptions (org_id, id);

-- The transactional outbox: one row per event, written in the transaction of the change that
-- caused it. `seq` orders events in commit order per resource (a resource's changes are
-- serialized by its own row), which delivery follows. `payload` is the thin event document
-- (ids, types, statuses, amounts, times; never PHI).
CREATE TABLE outbox_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    event_type TEXT NOT NULL,
    type_version INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_events_org ON outbox_events (org_id, seq);

-- One delivery per event and subscription, created with the event. Deliverers claim due rows
-- with a lease (`lease_until`); a lease that runs out (a crashed server) makes the row due again.
CREATE TABLE event_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    subscription_id TEXT NOT NULL REFERENCES event_subscriptions(id),
    event_seq BIGINT NOT NULL REFERENCES outbox_events(seq),
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    first_attempt_at TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX event_deliveries_due ON event_deliveries (state, next_attempt_at);
CREATE INDEX event_deliveries_order ON event_deliveries (subscription_id, resource_key, event_seq);
CREATE INDEX event_deliveries_subscription ON event_deliveries (org_id, subscription_id, id);

-- Each attempt of a delivery: status code (or what failed), latency and time. Never the
-- receiver's response body.
CREATE TABLE event_delivery_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    delivery_id TEXT NOT NULL REFERENCES event_deliveries(id),
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    latency_ms BIGINT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX event_delivery_attempts_delivery ON event_delivery_attempts (org_id, delivery_id, attempt);
