-- Every hold inserts a reservation pointing at the same concert and schedule rows. Each foreign
-- key check takes FOR KEY SHARE on that parent row, and many concurrent sharers of one row
-- become MultiXacts: in a flash sale the FK checks, not the hold, used the CPU. Concerts and
-- schedules are never deleted or re-keyed, so these two constraints protected nothing; the
-- reservation's seat itself is checked by the conditional UPDATE of its seat row.
ALTER TABLE reservations DROP CONSTRAINT reservations_concert_id_fkey;
ALTER TABLE reservations DROP CONSTRAINT reservations_schedule_id_fkey;
