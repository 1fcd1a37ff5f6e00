-- encore schema for SQLite. Times are epoch milliseconds (INTEGER), ids are UUIDs (BLOB). One writer
-- connection makes every write transaction serial, so the statements in src/store/sql/ need no
-- locks of their own here.

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    api_key_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE wallets (
    user_id BLOB PRIMARY KEY REFERENCES users (id),
    balance INTEGER NOT NULL CHECK (balance >= 0 AND balance <= 1000000000000),
    updated_at INTEGER NOT NULL
);

CREATE TABLE wallet_transactions (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('CHARGE', 'PAYMENT', 'REFUND')),
    amount INTEGER NOT NULL CHECK ((kind IN ('CHARGE', 'REFUND') AND amount > 0) OR (kind = 'PAYMENT' AND amount < 0)),
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    reservation_id BLOB,
    created_at INTEGER NOT NULL
);
CREATE INDEX wallet_transactions_by_user ON wallet_transactions (user_id, id);

CREATE TABLE concerts (
    id BLOB PRIMARY KEY,
    title TEXT NOT NULL,
    performer TEXT NOT NULL,
    venue TEXT,
    -- When the sale opens: joins before it get a PRE_QUEUE ticket, drawn into the line then.
    on_sale_at INTEGER,
    -- The refund fee tiers as JSON (src/refunds/policy.rs); NULL: free until 24 hours before the
    -- start, then closed.
    refund_policy TEXT,
    -- When an instance first saw every place sold (the `concert.sold_out` webhook); NULL while
    -- places are left.
    sold_out_at INTEGER,
    created_at INTEGER NOT NULL
);

-- A concert's queue as its promoter runs it live; every instance reads it at least once a
-- second. No row: the service's defaults.
CREATE TABLE queue_controls (
    concert_id BLOB PRIMARY KEY,
    -- NULL: ENCORE_QUEUE_ACTIVE_LIMIT.
    active_limit INTEGER CHECK (active_limit >= 0),
    -- NULL: no cap.
    admit_per_minute INTEGER CHECK (admit_per_minute >= 0),
    paused INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE schedules (
    id BLOB PRIMARY KEY,
    concert_id BLOB NOT NULL REFERENCES concerts (id),
    starts_at INTEGER NOT NULL,
    booking_opens_at INTEGER NOT NULL,
    booking_closes_at INTEGER NOT NULL,
    -- Places: seats plus standing capacity.
    seat_count INTEGER NOT NULL CHECK (seat_count BETWEEN 1 AND 70000),
    -- The lowest grade price.
    price INTEGER NOT NULL CHECK (price > 0),
    -- The seating plan as JSON (src/catalogue/plan.rs): grades, sections, rows. Places are
    -- numbered from it, seats first in plan order, then standing places; never changed.
    plan TEXT NOT NULL,
    -- CANCELLED: called off; its places are VOID and its paid reservations refunded (schedule_refunds).
    status TEXT NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'CANCELLED')),
    created_at INTEGER NOT NULL,
    CHECK (booking_opens_at < booking_closes_at AND booking_closes_at <= starts_at)
);
CREATE INDEX schedules_by_concert ON schedules (concert_id, starts_at);

-- The seat row is where races are decided. SQLite's one writer connection runs every hold's
-- transaction alone, so a hold reads which places are free and takes them without a race
-- (src/store/sqlite.rs; the writer pool must stay at one connection).
CREATE TABLE seats (
    schedule_id BLOB NOT NULL REFERENCES schedules (id),
    number INTEGER NOT NULL,
    price INTEGER NOT NULL CHECK (price > 0),
    -- VOID: a place of a cancelled schedule, never held or sold again.
    state TEXT NOT NULL CHECK (state IN ('AVAILABLE', 'HELD', 'SOLD', 'VOID')),
    held_until INTEGER,
    reservation_id BLOB,
    PRIMARY KEY (schedule_id, number),
    CHECK ((state = 'HELD') = (held_until IS NOT NULL))
) WITHOUT ROWID;

CREATE TABLE reservations (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    concert_id BLOB NOT NULL REFERENCES concerts (id),
    schedule_id BLOB NOT NULL REFERENCES schedules (id),
    -- The first seat's number; NULL for standing places.
    seat_number INTEGER,
    -- Places in the order; `price` is their total.
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    price INTEGER NOT NULL CHECK (price > 0),
    status TEXT NOT NULL CHECK (status IN ('HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED', 'REFUNDED')),
    held_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    -- What a refund gave back (price - fee) and kept, set with status REFUNDED.
    refund_amount INTEGER CHECK (refund_amount >= 0),
    refund_fee INTEGER CHECK (refund_fee >= 0),
    CHECK ((status IN ('CONFIRMED', 'REFUNDED')) = (confirmed_at IS NOT NULL)),
    CHECK ((status = 'REFUNDED') = (refund_amount IS NOT NULL AND refund_fee IS NOT NULL))
);
CREATE INDEX reservations_by_user ON reservations (user_id, id);
-- A fan's holds and places per concert, counted by every hold (the per-fan limits).
CREATE INDEX reservations_by_user_concert ON reservations (user_id, concert_id);
CREATE INDEX reservations_held ON reservations (held_until) WHERE status = 'HELD';

-- The places of each reservation, by number. "One live reservation per place" is the seat row's
-- to keep: it names at most one reservation, only a free place can be taken, and only a live
-- hold of the reservation it names can turn it SOLD.
CREATE TABLE reservation_seats (
    reservation_id BLOB NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (reservation_id, number)
) WITHOUT ROWID;

-- The waiting list of a sold-out schedule: a place that comes back (a lapsed hold, a cancel)
-- is offered to the first entry it fits, as a hold for that fan. OFFERING is an instance's
-- claim on an entry while it makes the hold: the claim is one conditional update, so an entry
-- is offered once however many instances run the offers; a claim older than a minute (its
-- instance died) goes back to WAITING.
CREATE TABLE waitlist (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL,
    concert_id BLOB NOT NULL,
    schedule_id BLOB NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 20),
    grade TEXT,
    status TEXT NOT NULL CHECK (status IN ('WAITING', 'OFFERING', 'OFFERED', 'FULFILLED', 'EXPIRED', 'CANCELLED')),
    reservation_id BLOB,
    claimed_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX waitlist_by_schedule ON waitlist (schedule_id, status, id);
CREATE INDEX waitlist_by_user ON waitlist (user_id, id);
-- One live entry per fan and schedule.
CREATE UNIQUE INDEX waitlist_one_live ON waitlist (user_id, schedule_id)
    WHERE status IN ('WAITING', 'OFFERING', 'OFFERED');

CREATE TABLE payments (
    id BLOB PRIMARY KEY,
    -- One payment per reservation, whatever races happen above.
    reservation_id BLOB NOT NULL UNIQUE REFERENCES reservations (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    created_at INTEGER NOT NULL
);

-- The paid reservations of a cancelled schedule, listed when it is cancelled; each is refunded
-- in full in the transaction that turns its `done` to 1, so it is refunded once whichever
-- instances work through the list and wherever one dies.
CREATE TABLE schedule_refunds (
    schedule_id BLOB NOT NULL,
    reservation_id BLOB NOT NULL,
    done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    PRIMARY KEY (schedule_id, reservation_id)
);
CREATE INDEX schedule_refunds_pending ON schedule_refunds (schedule_id, reservation_id) WHERE done = 0;

-- One row per ticket let in at a gate: the primary key decides which of many scans is first.
CREATE TABLE checkins (
    ticket_id TEXT PRIMARY KEY,
    reservation_id BLOB NOT NULL,
    schedule_id BLOB NOT NULL,
    number INTEGER NOT NULL,
    checked_in_at INTEGER NOT NULL
);

-- The box office's count of who is in, per schedule.
CREATE INDEX checkins_by_schedule ON checkins (schedule_id);
-- A refund asks whether any ticket of the order was let in (then it is refused).
CREATE INDEX checkins_by_reservation ON checkins (reservation_id);

-- Endpoints told of events. `events` holds the subscribed types, each between spaces, so one
-- LIKE finds the subscribers of a type. `secret` signs each delivery.
CREATE TABLE webhooks (
    id BLOB PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The outbox: one row per event and subscribed endpoint, written in the transaction of the change
-- the event reports. `next_at` is when an instance may try it next (a claim moves it past the
-- attempt's deadline, so a crashed attempt is tried again); NULL once DELIVERED or FAILED.
CREATE TABLE webhook_deliveries (
    webhook_id BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id BLOB NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at INTEGER,
    PRIMARY KEY (webhook_id, event_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE next_at IS NOT NULL;

CREATE TABLE idempotency_keys (
    user_id BLOB NOT NULL REFERENCES users (id),
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, scope, key)
);
-- Keys are kept a day; the sweeper forgets older ones in batches through this index.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Proof-of-work challenges already used to join (src/queue/proof.rs), until they expire: a
-- challenge works once, on every instance.
CREATE TABLE spent_proofs (
    id BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX spent_proofs_expires_at ON spent_proofs (expires_at);

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE queue_snapshots (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);
