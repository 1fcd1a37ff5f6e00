-- Seat updates in place (heap-only tuples). A hold, a payment, a cancel and the sweeper each
-- rewrite one seat row; while `seats_held` indexed `held_until`, every such update also wrote
-- a new entry into both of the table's indexes. With no index on the columns they change
-- (state, held_until, reservation_id), PostgreSQL updates the row within its page instead,
-- provided the page has room: hence the fill factor (it applies to pages written from now on,
-- i.e. the seats of schedules created after this migration).
--
-- Nothing needs `seats_held`: the sweeper finds lapsed holds through `reservations_held` (a
-- seat is HELD exactly while its live reservation is, with the same `held_until`), and every
-- check on a seat treats a lapsed hold as free anyway.
DROP INDEX seats_held;
ALTER TABLE seats SET (fillfactor = 80);
