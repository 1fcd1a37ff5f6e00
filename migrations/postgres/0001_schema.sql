-- encore schema for PostgreSQL. Times are epoch milliseconds (BIGINT) and ids UUIDs, so the SQL in
-- src/store/sql/ is shared with SQLite. Why the hot statements and indexes look as they do
-- (no foreign keys on reservations, no CHECKs on the tables a sale writes, partial-index
-- predicates, `status || ''`, `held_until + 0`, the seats fill factor) is measured in
-- docs/design/postgres-hot-statements.md.

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

-- The ledger. Written by every payment, so no foreign key and no CHECK (see "No CHECK on the
-- tables a sale writes" in docs/design/postgres-hot-statements.md): kind is CHARGE, PAYMENT or
-- REFUND; amount > 0 for a charge or refund, < 0 for a payment; balance_after >= 0, as the
-- wallet's CHECK keeps its balance.
CREATE TABLE wallet_transactions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reservation_id UUID,
    created_at BIGINT NOT NULL
);
CREATE INDEX wallet_transactions_by_user ON wallet_transactions (user_id, id);

CREATE TABLE concerts (
    id UUID PRIMARY KEY,
    title TEXT NOT NULL,
    performer TEXT NOT NULL,
    venue TEXT,
    -- When the sale opens: joins before it get a PRE_QUEUE ticket, drawn into the line then.
    on_sale_at BIGINT,
    -- The refund fee tiers as JSON (src/refunds/policy.rs); NULL: free until 24 hours before the
    -- start, then closed.
    refund_policy TEXT,
    -- When an instance first saw every place sold (the `concert.sold_out` webhook); NULL while
    -- places are left.
    sold_out_at BIGINT,
    created_at BIGINT NOT NULL
);

-- A concert's queue as its promoter runs it live; every instance reads it at least once a
-- second. No row: the service's defaults.
CREATE TABLE queue_controls (
    concert_id UUID PRIMARY KEY,
    -- NULL: ENCORE_QUEUE_ACTIVE_LIMIT.
    active_limit BIGINT CHECK (active_limit >= 0),
    -- NULL: no cap.
    admit_per_minute BIGINT CHECK (admit_per_minute >= 0),
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);

CREATE TABLE schedules (
    id UUID PRIMARY KEY,
    concert_id UUID NOT NULL REFERENCES concerts (id),
    starts_at BIGINT NOT NULL,
    booking_opens_at BIGINT NOT NULL,
    booking_closes_at BIGINT NOT NULL,
    -- Places: seats plus standing capacity.
    seat_count BIGINT NOT NULL CHECK (seat_count BETWEEN 1 AND 70000),
    -- The lowest grade price.
    price BIGINT NOT NULL CHECK (price > 0),
    -- The seating plan as JSON (src/catalogue/plan.rs): grades, sections, rows. Places are
    -- numbered from it, seats first in plan order, then standing places; never changed.
    plan TEXT NOT NULL,
    -- CANCELLED: called off; its places are VOID and its paid reservations refunded (schedule_refunds).
    status TEXT NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'CANCELLED')),
    created_at BIGINT NOT NULL,
    CHECK (booking_opens_at < booking_closes_at AND booking_closes_at <= starts_at)
);
CREATE INDEX schedules_by_concert ON schedules (concert_id, starts_at);

-- The seat row is where races are decided: a conditional UPDATE moves it out of "free" once.
-- No index covers the columns a hold, payment, cancel or sweep changes (state, held_until,
-- reservation_id), so those updates stay within the row's page (heap-only tuples); the fill
-- factor leaves the room for it. No CHECK (written by every hold and payment; see the design
-- note): price > 0; state is AVAILABLE, HELD, SOLD or VOID; held_until is set exactly when HELD.
CREATE TABLE seats (
    schedule_id UUID NOT NULL REFERENCES schedules (id),
    number BIGINT NOT NULL,
    price BIGINT NOT NULL,
    -- VOID: a place of a cancelled schedule, never held or sold again.
    state TEXT NOT NULL,
    held_until BIGINT,
    reservation_id UUID,
    PRIMARY KEY (schedule_id, number)
) WITH (fillfactor = 80);

-- No foreign keys: each would take FOR KEY SHARE on its parent row (the concert, the schedule,
-- the user) for every hold, turning a flash sale's holds into MultiXacts on a few rows. Users,
-- concerts and schedules are never deleted or re-keyed, and the seat row checks the seat.
-- No CHECK either (written by every hold and payment; see the design note): quantity >= 1,
-- price > 0; status is HELD, CONFIRMED, CANCELLED, EXPIRED or REFUNDED; confirmed_at is set
-- exactly when CONFIRMED or REFUNDED, refund_amount and refund_fee (>= 0) exactly when REFUNDED.
CREATE TABLE reservations (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL,
    concert_id UUID NOT NULL,
    schedule_id UUID NOT NULL,
    -- The first seat's number; NULL for standing places.
    seat_number BIGINT,
    -- Places in the order; `price` is their total.
    quantity BIGINT NOT NULL,
    price BIGINT NOT NULL,
    status TEXT NOT NULL,
    held_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    -- What a refund gave back (price - fee) and kept, set with status REFUNDED.
    refund_amount BIGINT,
    refund_fee BIGINT
);
CREATE INDEX reservations_by_user ON reservations (user_id, id);
-- A fan's holds and places per concert, counted by every hold (the per-fan limits).
CREATE INDEX reservations_by_user_concert ON reservations (user_id, concert_id);
-- The sweeper's: only it states `held_until > 0`, so no other statement can plan through it.
CREATE INDEX reservations_held ON reservations (held_until) WHERE status = 'HELD' AND held_until > 0;

-- The places of each reservation, by number. "One live reservation per place" is the seat row's
-- to keep: it names at most one reservation, only a free place can be taken, and only a live
-- hold of the reservation it names can turn it SOLD.
CREATE TABLE reservation_seats (
    reservation_id UUID NOT NULL,
    number BIGINT NOT NULL,
    PRIMARY KEY (reservation_id, number)
);

-- The waiting list of a sold-out schedule: a place that comes back (a lapsed hold, a cancel)
-- is offered to the first entry it fits, as a hold for that fan. OFFERING is an instance's
-- claim on an entry while it makes the hold: the claim is one conditional update, so an entry
-- is offered once however many instances run the offers; a claim older than a minute (its
-- instance died) goes back to WAITING.
CREATE TABLE waitlist (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL,
    concert_id UUID NOT NULL,
    schedule_id UUID NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 20),
    grade TEXT,
    status TEXT NOT NULL CHECK (status IN ('WAITING', 'OFFERING', 'OFFERED', 'FULFILLED', 'EXPIRED', 'CANCELLED')),
    reservation_id UUID,
    claimed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX waitlist_by_schedule ON waitlist (schedule_id, status, id);
CREATE INDEX waitlist_by_user ON waitlist (user_id, id);
-- One live entry per fan and schedule.
CREATE UNIQUE INDEX waitlist_one_live ON waitlist (user_id, schedule_id)
    WHERE status IN ('WAITING', 'OFFERING', 'OFFERED');

-- Written by every payment: no foreign key and no CHECK (see the design note); amount > 0 and
-- balance_after >= 0, as the ledger line of the same payment.
CREATE TABLE payments (
    id UUID PRIMARY KEY,
    -- One payment per reservation, whatever races happen above.
    reservation_id UUID NOT NULL UNIQUE,
    user_id UUID NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The paid reservations of a cancelled schedule, listed when it is cancelled; each is refunded
-- in full in the transaction that turns its `done` to 1, so it is refunded once whichever
-- instances work through the list and wherever one dies.
CREATE TABLE schedule_refunds (
    schedule_id UUID NOT NULL,
    reservation_id UUID NOT NULL,
    done BIGINT NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    PRIMARY KEY (schedule_id, reservation_id)
);
CREATE INDEX schedule_refunds_pending ON schedule_refunds (schedule_id, reservation_id) WHERE done = 0;

-- One row per ticket let in at a gate: the primary key decides which of many scans is first.
CREATE TABLE checkins (
    ticket_id TEXT PRIMARY KEY,
    reservation_id UUID NOT NULL,
    schedule_id UUID NOT NULL,
    number BIGINT NOT NULL,
    checked_in_at BIGINT NOT NULL
);

-- The box office's count of who is in, per schedule.
CREATE INDEX checkins_by_schedule ON checkins (schedule_id);
-- A refund asks whether any ticket of the order was let in (then it is refused).
CREATE INDEX checkins_by_reservation ON checkins (reservation_id);

-- Endpoints told of events. `events` holds the subscribed types, each between spaces, so one
-- LIKE finds the subscribers of a type. `secret` signs each delivery.
CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The outbox: one row per event and subscribed endpoint, written in the transaction of the change
-- the event reports. `next_at` is when an instance may try it next (a claim moves it past the
-- attempt's deadline, so a crashed attempt is tried again); NULL once DELIVERED or FAILED.
CREATE TABLE webhook_deliveries (
    webhook_id UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id UUID NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT,
    last_status_code BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    PRIMARY KEY (webhook_id, event_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE next_at IS NOT NULL;

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
-- Keys are kept a day; the sweeper forgets older ones in batches through this index.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Proof-of-work challenges already used to join (src/queue/proof.rs), until they expire: a
-- challenge works once, on every instance.
CREATE TABLE spent_proofs (
    id BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX spent_proofs_expires_at ON spent_proofs (expires_at);

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE queue_snapshots (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL,
    saved_at BIGINT NOT NULL
);

-- A hold of one order in one round trip; the SQLite transaction in src/store/sqlite.rs runs the
-- same steps. The order is named places (`p_seats`, numbers as text, e.g. '7,8', ascending) or
-- `p_count` places of the range `p_lo..p_hi` (a standing section). Each statement of a PL/pgSQL
-- function takes a fresh READ COMMITTED snapshot, so the counts after the fan's lock see every
-- committed hold of that fan. Lock order: the fan's advisory lock, then seat rows in number
-- order, then reservation rows.
--   1. A named place already taken answers SEAT_UNAVAILABLE without locking anything (a crowd
--      on one seat loses fast), or SAME:<id> when it is this fan's live hold of exactly these
--      places, sent again. This read only ever rejects.
--   2. While the schedule has a waiting list, only its offers (`p_offer`) take places.
--      The fan's transaction-scoped advisory lock serialises their holds (it writes nothing,
--      unlike a row lock); their live holds on the schedule and their places in the concert
--      (live holds and paid) are counted against the limits.
--   3. The free places are locked: every named one (in number order), or the first `p_count`
--      free ones of the range that no other transaction has locked (`SKIP LOCKED`: concurrent
--      orders of a standing section take different places and never wait on each other). Fewer
--      than the order needs: SEAT_UNAVAILABLE, and nothing is written.
--   4. The places turn HELD and the reservation is written. An order of one named place does
--      3 and 4 as one conditional UPDATE (it either takes the place or changes nothing).
-- Returns HELD:<numbers>, SAME:<reservation id>, SEAT_UNAVAILABLE, HOLD_LIMIT_REACHED or
-- TICKET_LIMIT_REACHED; nothing changes unless it returns HELD.
-- The fan's live hold of exactly the places `wanted` on the schedule, if there is one.
CREATE FUNCTION encore_same_hold(p_user UUID, p_schedule UUID, wanted BIGINT[], p_now BIGINT)
RETURNS UUID LANGUAGE sql STABLE AS $$
    SELECT r.id FROM seats s JOIN reservations r ON r.id = s.reservation_id
     WHERE s.schedule_id = p_schedule AND s.number = wanted[1]
       AND s.state = 'HELD' AND s.held_until > p_now
       AND r.user_id = p_user AND r.quantity = cardinality(wanted)
       AND (SELECT count(*) FROM seats t
             WHERE t.schedule_id = p_schedule AND t.number = ANY(wanted)
               AND t.reservation_id = r.id AND t.state = 'HELD' AND t.held_until > p_now)
           = cardinality(wanted)
$$;

CREATE FUNCTION encore_hold(
    p_id UUID, p_user UUID, p_concert UUID, p_schedule UUID, p_seats TEXT, p_lo BIGINT,
    p_hi BIGINT, p_count BIGINT, p_price BIGINT, p_now BIGINT, p_until BIGINT,
    p_max_holds BIGINT, p_max_places BIGINT, p_offer BOOLEAN DEFAULT FALSE
) RETURNS TEXT LANGUAGE plpgsql
-- Every statement here finds its rows through an index on what it looks up, whatever the
-- statistics say (tests/api/plans.rs checks it on generic plans): planning each call afresh, as
-- PostgreSQL otherwise does for statements with array parameters, only costs time.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    wanted BIGINT[] := CASE WHEN p_seats = '' THEN '{}'::BIGINT[]
                            ELSE string_to_array(p_seats, ',')::BIGINT[] END;
    needed BIGINT := CASE WHEN p_count > 0 THEN p_count ELSE cardinality(wanted) END;
    picked BIGINT[];
    same UUID;
    holds BIGINT;
    places BIGINT;
BEGIN
    IF p_count = 0 THEN
        PERFORM 1 FROM seats
         WHERE schedule_id = p_schedule AND number = ANY(wanted)
           AND (state = 'SOLD' OR (state = 'HELD' AND held_until > p_now));
        IF FOUND THEN
            same := encore_same_hold(p_user, p_schedule, wanted, p_now);
            RETURN CASE WHEN same IS NULL THEN 'SEAT_UNAVAILABLE' ELSE 'SAME:' || same END;
        END IF;
    END IF;
    -- While the schedule's waiting list waits, every place that comes free is the list's.
    IF NOT p_offer THEN
        PERFORM 1 FROM waitlist WHERE schedule_id = p_schedule AND status IN ('WAITING', 'OFFERING') LIMIT 1;
        IF FOUND THEN
            RETURN 'SEAT_UNAVAILABLE';
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(p_user::text, 7));
    SELECT count(*) FILTER (WHERE schedule_id = p_schedule AND status || '' = 'HELD' AND held_until + 0 > p_now),
           coalesce(sum(quantity) FILTER (WHERE status || '' = 'CONFIRMED'
                                             OR (status || '' = 'HELD' AND held_until + 0 > p_now)), 0)
      INTO holds, places
      FROM reservations WHERE user_id = p_user AND concert_id = p_concert;
    IF holds >= p_max_holds THEN
        RETURN 'HOLD_LIMIT_REACHED';
    END IF;
    IF places + needed > p_max_places THEN
        RETURN 'TICKET_LIMIT_REACHED';
    END IF;
    IF p_count = 0 AND needed = 1 THEN
        -- One named place (most orders): the conditional update takes it, or finds it taken and
        -- changes nothing, in one statement.
        UPDATE seats SET state = 'HELD', held_until = p_until, reservation_id = p_id
         WHERE schedule_id = p_schedule AND number = wanted[1]
           AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= p_now));
        picked := CASE WHEN FOUND THEN wanted END;
    ELSIF p_count = 0 THEN
        SELECT array_agg(number ORDER BY number) INTO picked FROM (
            SELECT number FROM seats
             WHERE schedule_id = p_schedule AND number = ANY(wanted)
               AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= p_now))
             ORDER BY number FOR UPDATE) AS free;
    ELSE
        SELECT array_agg(number ORDER BY number) INTO picked FROM (
            SELECT number FROM seats
             WHERE schedule_id = p_schedule AND number BETWEEN p_lo AND p_hi
               AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= p_now))
             ORDER BY number LIMIT p_count FOR UPDATE SKIP LOCKED) AS free;
    END IF;
    IF coalesce(cardinality(picked), 0) < needed THEN
        -- The same order, double-clicked, may have been held by the fan's other call meanwhile.
        same := CASE WHEN p_count = 0 THEN encore_same_hold(p_user, p_schedule, wanted, p_now) END;
        RETURN CASE WHEN same IS NULL THEN 'SEAT_UNAVAILABLE' ELSE 'SAME:' || same END;
    END IF;
    IF needed > 1 OR p_count > 0 THEN
        UPDATE seats SET state = 'HELD', held_until = p_until, reservation_id = p_id
         WHERE schedule_id = p_schedule AND number = ANY(picked);
    END IF;
    INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_number, quantity, price, status, held_until, created_at)
    VALUES (p_id, p_user, p_concert, p_schedule, CASE WHEN p_count = 0 THEN picked[1] END, needed,
            p_price, 'HELD', p_until, p_now);
    INSERT INTO reservation_seats (reservation_id, number) SELECT p_id, unnest(picked);
    RETURN 'HELD:' || array_to_string(picked, ',');
END
$$;

-- Holds in batches (src/store/postgres/holds.rs): one call, one transaction and one commit for
-- every hold an instance has queued while its earlier batches were in flight. Each hold is
-- exactly `encore_hold`, in the order given (the caller sorts by schedule and first seat), so a
-- batch answers what the same holds one after another would. Batches cannot deadlock: each first
-- takes all of its fans' advisory locks in key order (`encore_hold` then takes the same lock
-- again, which a session already holding it is granted at once), and, when an order of several
-- seats could otherwise lock out of number order, every named seat of the batch in
-- (schedule, number) order; standing places are taken with SKIP LOCKED and never wait.
CREATE FUNCTION encore_hold_many(
    p_ids UUID[], p_users UUID[], p_concerts UUID[], p_schedules UUID[], p_seats TEXT[],
    p_los BIGINT[], p_his BIGINT[], p_counts BIGINT[], p_prices BIGINT[], p_nows BIGINT[],
    p_untils BIGINT[], p_max_holds BIGINT, p_max_places BIGINT
) RETURNS TEXT[] LANGUAGE plpgsql AS $$
DECLARE
    outcomes TEXT[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(k)
       FROM (SELECT DISTINCT hashtextextended(u::text, 7) AS k FROM unnest(p_users) AS u) AS keys
      ORDER BY k;
    IF cardinality(p_ids) > 1 AND EXISTS (SELECT 1 FROM unnest(p_seats) AS o WHERE o LIKE '%,%') THEN
        PERFORM 1 FROM seats s
          JOIN (SELECT t.sch, unnest(string_to_array(t.list, ','))::BIGINT AS n
                  FROM unnest(p_schedules, p_seats) AS t(sch, list) WHERE t.list <> '') AS w
            ON s.schedule_id = w.sch AND s.number = w.n
         ORDER BY s.schedule_id, s.number
           FOR UPDATE OF s;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        outcomes := outcomes || encore_hold(p_ids[i], p_users[i], p_concerts[i], p_schedules[i],
                                            p_seats[i], p_los[i], p_his[i], p_counts[i],
                                            p_prices[i], p_nows[i], p_untils[i],
                                            p_max_holds, p_max_places);
    END LOOP;
    RETURN outcomes;
END
$$;

-- A payment in one statement (src/store/postgres/payments.rs): the steps of the SQLite
-- transaction in `src/store/sql/payments.rs`, in one round trip. A business error raises
-- (SQLSTATE P0001, the error code as its message), so the statement changes nothing, the
-- idempotency key's claim included; the caller then stores the error as the key's answer, as
-- the SQLite path does. With a key already answered, that answer comes back (`replay_status`,
-- `replay_body`) and nothing else is done.
--   p_answer: the payment's JSON as the API answers it, `"balanceAfter"` written as i64::MIN,
--             which the balance after the debit replaces: the key's stored answer.
--   p_event_body: the `reservation.confirmed` event, written for every endpoint subscribed to
--             it (`p_event_pattern`), as `emit` does.
CREATE FUNCTION encore_pay(
    p_user UUID, p_reservation UUID, p_now BIGINT, p_payment UUID, p_ledger UUID,
    p_scope TEXT, p_key TEXT, p_fingerprint BYTEA, p_answer TEXT,
    p_event UUID, p_event_type TEXT, p_event_body TEXT, p_event_pattern TEXT,
    OUT balance BIGINT, OUT replay_status BIGINT, OUT replay_body TEXT
) LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    sold BIGINT;
    fp BYTEA;
BEGIN
    IF p_key IS NOT NULL THEN
        -- A concurrent request with the same key waits here for that one's commit.
        INSERT INTO idempotency_keys (user_id, scope, key, fingerprint, status, body, created_at)
        VALUES (p_user, p_scope, p_key, p_fingerprint, 0, '', p_now) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            SELECT k.fingerprint, k.status, k.body INTO fp, replay_status, replay_body
              FROM idempotency_keys k
             WHERE k.user_id = p_user AND k.scope = p_scope AND k.key = p_key;
            IF fp <> p_fingerprint THEN
                RAISE EXCEPTION 'IDEMPOTENCY_KEY_REUSED';
            END IF;
            RETURN;
        END IF;
    END IF;
    -- The order's place numbers as an array, so the seat statements below look each place up
    -- by its key whatever the statistics say (design note: "A subquery naming an order's places").
    SELECT id, schedule_id, quantity, price,
           ARRAY(SELECT number FROM reservation_seats WHERE reservation_id = p_reservation) AS numbers
      INTO r
      FROM reservations WHERE id = p_reservation AND user_id = p_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'RESERVATION_NOT_FOUND';
    END IF;
    -- The race for the sale: only a live hold of this reservation turns its places SOLD, and
    -- only all of them; several places are locked in number order first, as every hold batch
    -- locks seats (one place has no order to keep).
    IF r.quantity = 1 THEN
        -- One place (most orders): by the whole key, which every plan reads by the key.
        UPDATE seats SET state = 'SOLD', held_until = NULL
         WHERE schedule_id = r.schedule_id AND number = r.numbers[1]
           AND reservation_id = r.id AND state = 'HELD' AND held_until > p_now;
    ELSE
        PERFORM 1 FROM seats
          WHERE schedule_id = r.schedule_id AND number = ANY(r.numbers)
          ORDER BY number FOR UPDATE;
        UPDATE seats SET state = 'SOLD', held_until = NULL
         WHERE schedule_id = r.schedule_id AND number = ANY(r.numbers)
           AND reservation_id = r.id AND state = 'HELD' AND held_until > p_now;
    END IF;
    GET DIAGNOSTICS sold = ROW_COUNT;
    IF sold <> r.quantity THEN
        RAISE EXCEPTION '%', (SELECT CASE status WHEN 'CONFIRMED' THEN 'ALREADY_PAID'
                                                 WHEN 'CANCELLED' THEN 'RESERVATION_NOT_HELD'
                                                 ELSE 'HOLD_EXPIRED' END
                                FROM reservations WHERE id = r.id);
    END IF;
    UPDATE reservations SET status = 'CONFIRMED', confirmed_at = p_now
     WHERE id = r.id AND status || '' = 'HELD';
    IF NOT FOUND THEN
        -- The sweeper marked it EXPIRED in between: the hold lapsed, nothing is sold.
        RAISE EXCEPTION 'HOLD_EXPIRED';
    END IF;
    UPDATE wallets w SET balance = w.balance - r.price, updated_at = p_now
     WHERE w.user_id = p_user AND w.balance >= r.price
    RETURNING w.balance INTO balance;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'INSUFFICIENT_BALANCE';
    END IF;
    INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reservation_id, created_at)
    VALUES (p_ledger, p_user, 'PAYMENT', -r.price, balance, r.id, p_now);
    INSERT INTO payments (id, reservation_id, user_id, amount, balance_after, created_at)
    VALUES (p_payment, r.id, p_user, r.price, balance, p_now);
    IF p_key IS NOT NULL THEN
        UPDATE idempotency_keys k SET status = 201,
               body = replace(p_answer, '"balanceAfter":-9223372036854775808',
                              '"balanceAfter":' || balance)
         WHERE k.user_id = p_user AND k.scope = p_scope AND k.key = p_key;
    END IF;
    INSERT INTO webhook_deliveries (webhook_id, event_id, type, body, created_at, status, attempts, next_at)
    SELECT id, p_event, p_event_type, p_event_body, p_now, 'PENDING', 0, p_now
      FROM webhooks WHERE events LIKE p_event_pattern;
END
$$;

-- Payments in batches (src/store/postgres/payments.rs through batches.rs): one call, one
-- transaction and one commit for every payment an instance has queued while its earlier batches
-- were in flight. Each payment is exactly `encore_pay`, under a savepoint of its own: a refusal
-- rolls back that payment alone and is answered in `refusals` (its error code); the others stand.
-- The caller sorts the payments by schedule and first place, the lock order of hold batches.
CREATE FUNCTION encore_pay_many(
    p_users UUID[], p_reservations UUID[], p_nows BIGINT[], p_payments UUID[], p_ledgers UUID[],
    p_scopes TEXT[], p_keys TEXT[], p_fingerprints BYTEA[], p_answers TEXT[],
    p_events UUID[], p_event_types TEXT[], p_event_bodies TEXT[], p_event_patterns TEXT[],
    OUT balances BIGINT[], OUT replay_statuses BIGINT[], OUT replay_bodies TEXT[],
    OUT refusals TEXT[]
) LANGUAGE plpgsql AS $$
DECLARE
    b BIGINT;
    rs BIGINT;
    rb TEXT;
BEGIN
    balances := '{}';
    replay_statuses := '{}';
    replay_bodies := '{}';
    refusals := '{}';
    FOR i IN 1 .. coalesce(array_length(p_users, 1), 0) LOOP
        BEGIN
            SELECT p.balance, p.replay_status, p.replay_body INTO b, rs, rb
              FROM encore_pay(p_users[i], p_reservations[i], p_nows[i], p_payments[i], p_ledgers[i],
                              p_scopes[i], p_keys[i], p_fingerprints[i], p_answers[i], p_events[i],
                              p_event_types[i], p_event_bodies[i], p_event_patterns[i]) AS p;
            balances := balances || b;
            replay_statuses := replay_statuses || rs;
            replay_bodies := replay_bodies || rb;
            refusals := refusals || NULL::TEXT;
        EXCEPTION WHEN raise_exception THEN
            balances := balances || NULL::BIGINT;
            replay_statuses := replay_statuses || NULL::BIGINT;
            replay_bodies := replay_bodies || NULL::TEXT;
            refusals := refusals || SQLERRM;
        END;
    END LOOP;
END
$$;
