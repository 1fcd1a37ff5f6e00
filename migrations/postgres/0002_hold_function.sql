-- A seat hold in one round trip. The steps are those of the SQLite transaction in
-- src/store/sql/reservations.rs; each statement of a PL/pgSQL function takes a fresh READ
-- COMMITTED snapshot, so the count after the user-row lock sees every committed hold of that
-- user. Lock order: user row, then seat row, then reservation rows (see src/store/sql/mod.rs).
-- Returns HELD, HOLD_LIMIT_REACHED or SEAT_UNAVAILABLE; nothing but the user's lock timestamp
-- changes unless it returns HELD.
CREATE FUNCTION encore_hold(
    p_id UUID, p_user UUID, p_concert UUID, p_schedule UUID, p_seat BIGINT, p_price BIGINT,
    p_now BIGINT, p_until BIGINT, p_max BIGINT
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    live BIGINT;
BEGIN
    UPDATE users SET last_hold_at = p_now WHERE id = p_user;
    SELECT COUNT(*) INTO live FROM reservations
     WHERE user_id = p_user AND schedule_id = p_schedule AND status = 'HELD' AND held_until > p_now;
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
     WHERE schedule_id = p_schedule AND seat_number = p_seat AND status = 'HELD' AND held_until <= p_now;
    INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_number, price, status, held_until, created_at)
    VALUES (p_id, p_user, p_concert, p_schedule, p_seat, p_price, 'HELD', p_until, p_now);
    RETURN 'HELD';
END
$$;
