//! `WaitlistStore` in SQL.

/// The columns of an entry, in `Entry`'s field order.
pub(crate) const ENTRY_COLS: &str =
    "id, user_id, concert_id, schedule_id, quantity, grade, status, reservation_id, created_at";

macro_rules! impl_waitlist_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::waitlist::WaitlistStore for $crate::store::sql::SqlStore<$db> {
            async fn add_entry(
                &self,
                e: &$crate::waitlist::Entry,
            ) -> $crate::error::Result<($crate::waitlist::Entry, bool)> {
                let added = sqlx::query(
                    "INSERT INTO waitlist (id, user_id, concert_id, schedule_id, quantity, grade, status, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'WAITING', $7) ON CONFLICT DO NOTHING",
                )
                .bind(e.id)
                .bind(e.user_id)
                .bind(e.concert_id)
                .bind(e.schedule_id)
                .bind(e.quantity)
                .bind(&e.grade)
                .bind(e.created_at)
                .execute(&self.write)
                .await?
                .rows_affected();
                let sql = format!(
                    "SELECT {} FROM waitlist WHERE user_id = $1 AND schedule_id = $2
                        AND status IN ('WAITING', 'OFFERING', 'OFFERED')",
                    $crate::store::sql::waitlist::ENTRY_COLS
                );
                let live: $crate::waitlist::Entry = sqlx::query_as(&sql)
                    .bind(e.user_id)
                    .bind(e.schedule_id)
                    .fetch_one(&self.write)
                    .await?;
                Ok((live, added == 1))
            }

            async fn entries_of(
                &self,
                user_id: uuid::Uuid,
            ) -> $crate::error::Result<Vec<$crate::waitlist::Entry>> {
                let sql = format!(
                    "SELECT {} FROM waitlist WHERE user_id = $1 ORDER BY id DESC LIMIT 200",
                    $crate::store::sql::waitlist::ENTRY_COLS
                );
                Ok(sqlx::query_as(&sql).bind(user_id).fetch_all(&self.read).await?)
            }

            async fn entry(
                &self,
                id: uuid::Uuid,
                user_id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::waitlist::Entry>> {
                let sql = format!(
                    "SELECT {} FROM waitlist WHERE id = $1 AND user_id = $2",
                    $crate::store::sql::waitlist::ENTRY_COLS
                );
                Ok(sqlx::query_as(&sql).bind(id).bind(user_id).fetch_optional(&self.read).await?)
            }

            async fn cancel_entry(
                &self,
                id: uuid::Uuid,
                user_id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::waitlist::Entry>> {
                let sql = format!(
                    "UPDATE waitlist SET status = 'CANCELLED'
                      WHERE id = $1 AND user_id = $2 AND status IN ('WAITING', 'OFFERING', 'OFFERED')
                     RETURNING {}",
                    $crate::store::sql::waitlist::ENTRY_COLS
                );
                Ok(sqlx::query_as(&sql).bind(id).bind(user_id).fetch_optional(&self.write).await?)
            }

            async fn position(&self, e: &$crate::waitlist::Entry) -> $crate::error::Result<i64> {
                let ahead: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM waitlist
                      WHERE schedule_id = $1 AND status IN ('WAITING', 'OFFERING') AND id < $2",
                )
                .bind(e.schedule_id)
                .bind(e.id)
                .fetch_one(&self.read)
                .await?;
                Ok(ahead + 1)
            }

            async fn free_places(
                &self,
                schedule_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM seats WHERE schedule_id = $1
                        AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= $2))",
                )
                .bind(schedule_id)
                .bind(now)
                .fetch_one(&self.read)
                .await?)
            }

            async fn has_waiting(&self, schedule_id: uuid::Uuid) -> $crate::error::Result<bool> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM waitlist WHERE schedule_id = $1 AND status = 'WAITING' LIMIT 1",
                )
                .bind(schedule_id)
                .fetch_optional(&self.read)
                .await?;
                Ok(found.is_some())
            }

            async fn settle_offers(&self, now: i64, stale_before: i64) -> $crate::error::Result<()> {
                sqlx::query(
                    "UPDATE waitlist SET status = 'FULFILLED'
                      WHERE status = 'OFFERED' AND reservation_id IN
                            (SELECT id FROM reservations WHERE status = 'CONFIRMED')",
                )
                .execute(&self.write)
                .await?;
                sqlx::query(
                    "UPDATE waitlist SET status = 'EXPIRED'
                      WHERE status = 'OFFERED' AND reservation_id IN
                            (SELECT id FROM reservations
                              WHERE status IN ('EXPIRED', 'CANCELLED')
                                 OR (status = 'HELD' AND held_until <= $1))",
                )
                .bind(now)
                .execute(&self.write)
                .await?;
                sqlx::query(
                    "UPDATE waitlist SET status = 'WAITING', claimed_at = NULL
                      WHERE status = 'OFFERING' AND claimed_at < $1",
                )
                .bind(stale_before)
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn waiting_schedules(&self) -> $crate::error::Result<Vec<uuid::Uuid>> {
                Ok(sqlx::query_scalar(
                    "SELECT DISTINCT schedule_id FROM waitlist WHERE status = 'WAITING'",
                )
                .fetch_all(&self.read)
                .await?)
            }

            async fn waiting_entries(
                &self,
                schedule_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::error::Result<Vec<$crate::waitlist::Entry>> {
                let sql = format!(
                    "SELECT {} FROM waitlist WHERE schedule_id = $1 AND status = 'WAITING'
                      ORDER BY id LIMIT $2",
                    $crate::store::sql::waitlist::ENTRY_COLS
                );
                Ok(sqlx::query_as(&sql).bind(schedule_id).bind(limit).fetch_all(&self.write).await?)
            }

            async fn claim(&self, id: uuid::Uuid, now: i64) -> $crate::error::Result<bool> {
                let claimed = sqlx::query(
                    "UPDATE waitlist SET status = 'OFFERING', claimed_at = $2
                      WHERE id = $1 AND status = 'WAITING'",
                )
                .bind(id)
                .bind(now)
                .execute(&self.write)
                .await?
                .rows_affected();
                Ok(claimed == 1)
            }

            async fn settle_claim(
                &self,
                id: uuid::Uuid,
                status: &str,
                reservation: Option<uuid::Uuid>,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "UPDATE waitlist SET status = $2, reservation_id = $3, claimed_at = NULL
                      WHERE id = $1 AND status = 'OFFERING'",
                )
                .bind(id)
                .bind(status)
                .bind(reservation)
                .execute(&self.write)
                .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_waitlist_store;
