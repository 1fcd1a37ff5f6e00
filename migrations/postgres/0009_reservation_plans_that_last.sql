-- Reservation plans that stay right whatever the statistics say.
--
-- PostgreSQL caches a generic plan per connection, costed from the table's statistics. After an
-- ANALYZE taken while no hold was live (at night, or after a sale: autovacuum does this), the
-- statistics say "no HELD rows", so a partial index `WHERE status = 'HELD'` looks empty, and a
-- full scan of it the cheapest plan for any statement that says `status = 'HELD'`: the hold's
-- checks, the payment and the cancel then walked every live hold on each call. Measured with
-- pgbench, one hold per transaction, after such an ANALYZE: 611, then 324, then 245 holds/s in
-- three 8-second rounds (4,700 index entries read per hold on average); with this migration,
-- 2,100 to 3,700 holds/s on the same data.
-- So only statements that can use a partial index with conditions on its columns may match it:
--
-- * `reservations_held` (the sweeper's) gets a second conjunct that only the sweeper states.
-- * The per-user count of live holds uses a plain index, and says `status || ''`, which no
--   partial index predicate is implied by. So do the payment and the cancel (they go by id).
-- * `reservations_one_live_per_seat` stays: the one statement that implies its predicate
--   without going by id (ending a lapsed hold of the seat) has conditions on both its columns.
DROP INDEX reservations_held;
CREATE INDEX reservations_held ON reservations (held_until) WHERE status = 'HELD' AND held_until > 0;
DROP INDEX reservations_live_by_user;
CREATE INDEX reservations_by_user_schedule ON reservations (user_id, schedule_id);

CREATE OR REPLACE FUNCTION encore_hold(
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
