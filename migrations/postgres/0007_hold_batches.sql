-- Seat holds in batches: one call, one transaction and one commit for every hold an instance
-- has queued while its earlier batches were in flight (see `store/postgres/holds.rs`). On two
-- cores the round trips and the commit cost more than the hold itself.
--
-- Each hold is exactly `encore_hold`, run in the order given (the caller sorts by schedule and
-- seat), so a batch answers what the same holds one after another would. Deadlocks between
-- batches are ruled out by the lock order: every batch first takes all of its users' advisory
-- locks, in key order (`encore_hold` then takes the same lock again, which a session already
-- holding it is granted at once), and only then seat rows, in seat order.
CREATE OR REPLACE FUNCTION encore_hold_many(
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

-- A reservation's user is the signed-in caller, and users are never deleted. The foreign key's
-- check took FOR KEY SHARE on the user's row for every hold: a row lock written to the users
-- table (and to the WAL) per hold, protecting nothing.
ALTER TABLE reservations DROP CONSTRAINT reservations_user_id_fkey;
