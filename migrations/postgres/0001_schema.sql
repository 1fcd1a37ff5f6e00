-- encore schema for PostgreSQL. Times are epoch milliseconds (BIGINT) and ids UUIDs, so the SQL in
-- src/store/sql/ is shared with SQLite. Why the hot statements and indexes look as they do
-- (no foreign keys on reservations, partial-index predicates, `status || ''`, `held_until + 0`,
-- the seats fill factor) is measured in docs/design/postgres-hot-statements.md.

CREATE TABLE users (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    api_key_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE wallets (
    user_id UUID PRIMARY KEY REFERENCES users (id),
    balance BIGINT NOT NULL CHECK (balance >= 0 AND balance <= 1000000000000),
    updated_at BIGINT NOT NULL
);

CREATE TABLE wallet_transactions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('CHARGE', 'PAYMENT')),
    amount BIGINT NOT NULL CHECK ((kind = 'CHARGE' AND amount > 0) OR (kind = 'PAYMENT' AND amount < 0)),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    reservation_id UUID,
    created_at BIGINT NOT NULL
);
CREATE INDEX wallet_transactions_by_user ON wallet_transactions (user_id, id);

CREATE TABLE concerts (
    id UUID PRIMARY KEY,
    title TEXT NOT NULL,
    performer TEXT NOT NULL,
    venue TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE schedules (
    id UUID PRIMARY KEY,
    concert_id UUID NOT NULL REFERENCES concerts (id),
    starts_at BIGINT NOT NULL,
    booking_opens_at BIGINT NOT NULL,
    booking_closes_at BIGINT NOT NULL,
    seat_count BIGINT NOT NULL CHECK (seat_count BETWEEN 1 AND 2000),
    price BIGINT NOT NULL CHECK (price > 0),
    created_at BIGINT NOT NULL,
    CHECK (booking_opens_at < booking_closes_at AND booking_closes_at <= starts_at)
);
CREATE INDEX schedules_by_concert ON schedules (concert_id, starts_at);

-- The seat row is where races are decided: a conditional UPDATE moves it out of "free" once.
-- No index covers the columns a hold, payment, cancel or sweep changes (state, held_until,
-- reservation_id), so those updates stay within the row's page (heap-only tuples); the fill
-- factor leaves the room for it.
CREATE TABLE seats (
    schedule_id UUID NOT NULL REFERENCES schedules (id),
    number BIGINT NOT NULL,
    price BIGINT NOT NULL CHECK (price > 0),
    state TEXT NOT NULL CHECK (state IN ('AVAILABLE', 'HELD', 'SOLD')),
    held_until BIGINT,
    reservation_id UUID,
    PRIMARY KEY (schedule_id, number),
    CHECK ((state = 'HELD') = (held_until IS NOT NULL))
) WITH (fillfactor = 80);

-- No foreign keys: each would take FOR KEY SHARE on its parent row (the concert, the schedule,
-- the user) for every hold, turning a flash sale's holds into MultiXacts on a few rows. Users,
-- concerts and schedules are never deleted or re-keyed, and the seat row checks the seat.
CREATE TABLE reservations (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL,
    concert_id UUID NOT NULL,
    schedule_id UUID NOT NULL,
    seat_number BIGINT NOT NULL,
    price BIGINT NOT NULL CHECK (price > 0),
    status TEXT NOT NULL CHECK (status IN ('HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
    held_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    CHECK ((status = 'CONFIRMED') = (confirmed_at IS NOT NULL))
);
-- Backstop for "one live reservation per seat": never two HELD/CONFIRMED rows for a seat.
CREATE UNIQUE INDEX reservations_one_live_per_seat ON reservations (schedule_id, seat_number)
    WHERE status IN ('HELD', 'CONFIRMED');
CREATE INDEX reservations_by_user ON reservations (user_id, id);
CREATE INDEX reservations_by_user_schedule ON reservations (user_id, schedule_id);
-- The sweeper's: only it states `held_until > 0`, so no other statement can plan through it.
CREATE INDEX reservations_held ON reservations (held_until) WHERE status = 'HELD' AND held_until > 0;

CREATE TABLE payments (
    id UUID PRIMARY KEY,
    -- One payment per reservation, whatever races happen above.
    reservation_id UUID NOT NULL UNIQUE REFERENCES reservations (id),
    user_id UUID NOT NULL REFERENCES users (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    created_at BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id UUID NOT NULL REFERENCES users (id),
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, scope, key)
);

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE queue_snapshots (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,
    saved_at BIGINT NOT NULL
);

-- A seat hold in one round trip; the SQLite transaction in src/store/sqlite.rs runs the same
-- steps. Each statement of a PL/pgSQL function takes a fresh READ COMMITTED snapshot, so the
-- count after the user's lock sees every committed hold of that user. Lock order: the user's
-- advisory lock, then the seat row, then reservation rows.
--   1. A seat already taken answers SEAT_UNAVAILABLE without locking anything (a crowd on one
--      seat loses fast); this read only ever rejects.
--   2. The user's transaction-scoped advisory lock serialises that user's holds (it writes
--      nothing, unlike a row lock), and their live holds on the schedule are counted.
--   3. The conditional UPDATE of the seat row decides the race.
--   4. A lapsed reservation of the seat is ended, and the new one inserted.
-- Returns HELD, HOLD_LIMIT_REACHED or SEAT_UNAVAILABLE; nothing changes unless it returns HELD.
CREATE FUNCTION encore_hold(
    p_id UUID, p_user UUID, p_concert UUID, p_schedule UUID, p_seat BIGINT, p_price BIGINT,
    p_now BIGINT, p_until BIGINT, p_max BIGINT
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    live BIGINT;
BEGIN
    PERFORM 1 FROM seats
     WHERE schedule_id = p_schedule AND number = p_seat
       AND (state = 'SOLD' OR (state = 'HELD' AND held_until > p_now));
    IF FOUND THEN
        RETURN 'SEAT_UNAVAILABLE';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(p_user::text, 7));
    SELECT COUNT(*) INTO live FROM reservations
     WHERE user_id = p_user AND schedule_id = p_schedule AND status || '' = 'HELD' AND held_until + 0 > p_now;
    IF live >= p_max THEN
        RETURN 'HOLD_LIMIT_REACHED';
    END IF;
    UPDATE seats SET state = 'HELD', held_until = p_until, reservation_id = p_id
     WHERE schedule_id = p_schedule AND number = p_seat
       AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= p_now));
    IF NOT FOUND THEN
        RETURN 'SEAT_UNAVAILABLE';
    END IF;
    UPDATE reservations SET status = 'EXPIRED'
     WHERE schedule_id = p_schedule AND seat_number = p_seat AND status = 'HELD' AND held_until + 0 <= p_now;
    INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_number, price, status, held_until, created_at)
    VALUES (p_id, p_user, p_concert, p_schedule, p_seat, p_price, 'HELD', p_until, p_now);
    RETURN 'HELD';
END
$$;

-- Seat holds in batches (src/store/postgres/holds.rs): one call, one transaction and one commit
-- for every hold an instance has queued while its earlier batches were in flight. Each hold is
-- exactly `encore_hold`, in the order given (the caller sorts by schedule and seat), so a batch
-- answers what the same holds one after another would. Batches cannot deadlock: each first takes
-- all of its users' advisory locks in key order (`encore_hold` then takes the same lock again,
-- which a session already holding it is granted at once), and only then seat rows, in seat order.
CREATE FUNCTION encore_hold_many(
    p_ids UUID[], p_users UUID[], p_concerts UUID[], p_schedules UUID[], p_seats BIGINT[],
    p_prices BIGINT[], p_nows BIGINT[], p_untils BIGINT[], p_max BIGINT
) RETURNS TEXT[] LANGUAGE plpgsql AS $$
DECLARE
    outcomes TEXT[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(k)
       FROM (SELECT DISTINCT hashtextextended(u::text, 7) AS k FROM unnest(p_users) AS u) AS keys
      ORDER BY k;
    FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        outcomes := outcomes || encore_hold(p_ids[i], p_users[i], p_concerts[i], p_schedules[i],
                                            p_seats[i], p_prices[i], p_nows[i], p_untils[i], p_max);
    END LOOP;
    RETURN outcomes;
END
$$;
