-- encore_hold with its two reservation lookups pinned to the right index. PL/pgSQL caches a
-- generic plan per connection, built from the statistics of the moment: on an empty or
-- freshly created reservations table, `held_until > p_now` ties `reservations_held` with the
-- per-user (or per-seat) index, and the cached plan then walks every live hold of every user on
-- each call (measured: holds fell from ~3,500/s to ~1,100/s, each call filtering hundreds of rows).
-- `held_until + 0` cannot use an index, so only the equality indexes remain candidates.
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
     WHERE user_id = p_user AND schedule_id = p_schedule AND status = 'HELD' AND held_until + 0 > p_now;
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
