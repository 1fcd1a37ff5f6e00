//! `CatalogueStore` in SQL.

/// A schedule's fixed fields; its free places come from `catalogue::seat_states`.
pub(crate) const SCHEDULE_SELECT: &str = "
    SELECT s.id, s.concert_id, s.starts_at, s.booking_opens_at, s.booking_closes_at, s.seat_count, s.price, s.status
      FROM schedules s";

macro_rules! impl_catalogue_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::catalogue::CatalogueStore for $crate::store::sql::SqlStore<$db> {
            async fn create_concert(
                &self,
                c: &$crate::catalogue::Concert,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "INSERT INTO concerts (id, title, performer, venue, created_at, on_sale_at, refund_policy)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(c.id)
                .bind(&c.title)
                .bind(&c.performer)
                .bind(&c.venue)
                .bind(c.created_at)
                .bind(c.on_sale_at)
                .bind(c.refund_policy.as_ref().map(|p| p.to_text()))
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn concerts(&self) -> $crate::error::Result<Vec<$crate::catalogue::Concert>> {
                Ok(sqlx::query_as(
                    "SELECT id, title, performer, venue, created_at, on_sale_at, refund_policy FROM concerts ORDER BY created_at, id",
                )
                .fetch_all(&self.read)
                .await?)
            }

            async fn concert(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::catalogue::Concert>> {
                Ok(sqlx::query_as(
                    "SELECT id, title, performer, venue, created_at, on_sale_at, refund_policy FROM concerts WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.read)
                .await?)
            }

            async fn set_refund_policy(
                &self,
                concert_id: uuid::Uuid,
                policy: Option<&$crate::refunds::policy::RefundPolicy>,
            ) -> $crate::error::Result<()> {
                sqlx::query("UPDATE concerts SET refund_policy = $2 WHERE id = $1")
                    .bind(concert_id)
                    .bind(policy.map(|p| p.to_text()))
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            async fn create_schedule(
                &self,
                s: &$crate::catalogue::Schedule,
                plan: &$crate::catalogue::plan::Plan,
                layout: &$crate::catalogue::plan::Layout,
                now: i64,
            ) -> $crate::error::Result<()> {
                let plan = serde_json::to_string(plan).map_err($crate::error::Error::internal)?;
                let mut tx = self.write.begin().await?;
                sqlx::query(
                    "INSERT INTO schedules (id, concert_id, starts_at, booking_opens_at, booking_closes_at, seat_count, price, plan, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(s.id)
                .bind(s.concert_id)
                .bind(s.starts_at)
                .bind(s.booking_opens_at)
                .bind(s.booking_closes_at)
                .bind(s.seat_count)
                .bind(s.price)
                .bind(plan)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                // Each section's places in one statement, in a form both dialects accept: a few
                // statements for a stadium, not one per seat.
                for section in &layout.sections {
                    let range = section.range();
                    sqlx::query(
                        "INSERT INTO seats (schedule_id, number, price, state)
                         WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n WHERE i < $3)
                         SELECT $1, i, $4, 'AVAILABLE' FROM n",
                    )
                    .bind(s.id)
                    .bind(*range.start())
                    .bind(*range.end())
                    .bind(layout.grades[section.grade].price)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn plan(
                &self,
                schedule_id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::catalogue::plan::Plan>> {
                let plan: Option<String> = sqlx::query_scalar("SELECT plan FROM schedules WHERE id = $1")
                    .bind(schedule_id)
                    .fetch_optional(&self.read)
                    .await?;
                plan.map(|p| serde_json::from_str(&p).map_err($crate::error::Error::internal))
                    .transpose()
            }

            async fn schedules(
                &self,
                concert_id: uuid::Uuid,
                now: i64,
            ) -> $crate::error::Result<Vec<$crate::catalogue::Schedule>> {
                let sql = format!(
                    "{} WHERE s.concert_id = $1 AND s.starts_at > $2 ORDER BY s.starts_at, s.id",
                    $crate::store::sql::catalogue::SCHEDULE_SELECT
                );
                Ok(sqlx::query_as(&sql).bind(concert_id).bind(now).fetch_all(&self.read).await?)
            }

            async fn schedule(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::catalogue::Schedule>> {
                let sql = format!("{} WHERE s.id = $1", $crate::store::sql::catalogue::SCHEDULE_SELECT);
                Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.read).await?)
            }

            async fn edit_concert(
                &self,
                id: uuid::Uuid,
                edit: &$crate::catalogue::ConcertEdit,
            ) -> $crate::error::Result<bool> {
                // `$5` says whether `$4` (the venue, maybe null) is given at all.
                Ok(sqlx::query(
                    "UPDATE concerts SET title = COALESCE($2, title), performer = COALESCE($3, performer),
                            venue = CASE WHEN $5 THEN $4 ELSE venue END
                      WHERE id = $1",
                )
                .bind(id)
                .bind(edit.title.as_deref())
                .bind(edit.performer.as_deref())
                .bind(edit.venue.clone().flatten())
                .bind(edit.venue.is_some())
                .execute(&self.write)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn all_schedules(
                &self,
                concert_id: uuid::Uuid,
            ) -> $crate::error::Result<Vec<$crate::catalogue::Schedule>> {
                let sql = format!(
                    "{} WHERE s.concert_id = $1 ORDER BY s.starts_at, s.id",
                    $crate::store::sql::catalogue::SCHEDULE_SELECT
                );
                Ok(sqlx::query_as(&sql).bind(concert_id).fetch_all(&self.read).await?)
            }

            async fn edit_schedule(
                &self,
                id: uuid::Uuid,
                starts_at: i64,
                opens: i64,
                closes: i64,
            ) -> $crate::error::Result<bool> {
                Ok(sqlx::query(
                    "UPDATE schedules SET starts_at = $2, booking_opens_at = $3, booking_closes_at = $4
                      WHERE id = $1 AND status = 'SCHEDULED'",
                )
                .bind(id)
                .bind(starts_at)
                .bind(opens)
                .bind(closes)
                .execute(&self.write)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn checked_in(
                &self,
                concert_id: uuid::Uuid,
            ) -> $crate::error::Result<Vec<(uuid::Uuid, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT c.schedule_id, COUNT(*) FROM checkins c
                       JOIN schedules s ON s.id = c.schedule_id
                      WHERE s.concert_id = $1 GROUP BY c.schedule_id",
                )
                .bind(concert_id)
                .fetch_all(&self.read)
                .await?)
            }

            async fn seats(
                &self,
                schedule_id: uuid::Uuid,
            ) -> $crate::error::Result<Vec<$crate::catalogue::SeatRow>> {
                Ok(sqlx::query_as(
                    "SELECT number, price, state, held_until FROM seats WHERE schedule_id = $1 ORDER BY number",
                )
                .bind(schedule_id)
                .fetch_all(&self.read)
                .await?)
            }

            async fn taken_seats(
                &self,
                schedule_id: uuid::Uuid,
            ) -> $crate::error::Result<Vec<$crate::catalogue::SeatRow>> {
                Ok(sqlx::query_as(
                    "SELECT number, price, state, held_until FROM seats
                      WHERE schedule_id = $1 AND state <> 'AVAILABLE'",
                )
                .bind(schedule_id)
                .fetch_all(&self.read)
                .await?)
            }
        }
    };
}
pub(crate) use impl_catalogue_store;
