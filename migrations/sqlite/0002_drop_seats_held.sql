-- The sweeper finds lapsed holds through `reservations_held` (see the PostgreSQL migration
-- 0008), so `seats_held` only cost every seat update an index write.
DROP INDEX seats_held;
