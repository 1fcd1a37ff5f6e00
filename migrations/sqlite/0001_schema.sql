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
    kind TEXT NOT NULL CHECK (kind IN ('CHARGE', 'PAYMENT')),
    amount INTEGER NOT NULL CHECK ((kind = 'CHARGE' AND amount > 0) OR (kind = 'PAYMENT' AND amount < 0)),
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
    created_at INTEGER NOT NULL
);

CREATE TABLE schedules (
    id BLOB PRIMARY KEY,
    concert_id BLOB NOT NULL REFERENCES concerts (id),
    starts_at INTEGER NOT NULL,
    booking_opens_at INTEGER NOT NULL,
    booking_closes_at INTEGER NOT NULL,
    seat_count INTEGER NOT NULL CHECK (seat_count BETWEEN 1 AND 2000),
    price INTEGER NOT NULL CHECK (price > 0),
    created_at INTEGER NOT NULL,
    CHECK (booking_opens_at < booking_closes_at AND booking_closes_at <= starts_at)
);
CREATE INDEX schedules_by_concert ON schedules (concert_id, starts_at);

-- The seat row is where races are decided: a conditional UPDATE moves it out of "free" once.
CREATE TABLE seats (
    schedule_id BLOB NOT NULL REFERENCES schedules (id),
    number INTEGER NOT NULL,
    price INTEGER NOT NULL CHECK (price > 0),
    state TEXT NOT NULL CHECK (state IN ('AVAILABLE', 'HELD', 'SOLD')),
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
    seat_number INTEGER NOT NULL,
    price INTEGER NOT NULL CHECK (price > 0),
    status TEXT NOT NULL CHECK (status IN ('HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
    held_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    CHECK ((status = 'CONFIRMED') = (confirmed_at IS NOT NULL))
);
-- Backstop for "one live reservation per seat": never two HELD/CONFIRMED rows for a seat.
CREATE UNIQUE INDEX reservations_one_live_per_seat ON reservations (schedule_id, seat_number)
    WHERE status IN ('HELD', 'CONFIRMED');
CREATE INDEX reservations_by_user ON reservations (user_id, id);
CREATE INDEX reservations_live_by_user ON reservations (user_id, schedule_id) WHERE status = 'HELD';
CREATE INDEX reservations_held ON reservations (held_until) WHERE status = 'HELD';

CREATE TABLE payments (
    id BLOB PRIMARY KEY,
    -- One payment per reservation, whatever races happen above.
    reservation_id BLOB NOT NULL UNIQUE REFERENCES reservations (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    created_at INTEGER NOT NULL
);

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

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE queue_snapshots (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);
