//! `CatalogueStore` in SQL.

/// A schedule with its live count of available seats (a lapsed hold counts as available).
pub(crate) const SCHEDULE_SELECT: &str = "
    SELECT s.id, s.concert_id, s.starts_at, s.booking_opens_at, s.booking_closes_at, s.seat_count, s.price,
           (SELECT COUNT(*) FROM seats t
             WHERE t.schedule_id = s.id
               AND (t.state = 'AVAILABLE' OR (t.state = 'HELD' AND t.held_until <= $2))) AS available_seats
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
                    "INSERT INTO concerts (id, title, performer, venue, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(c.id)
                .bind(&c.title)
                .bind(&c.performer)
                .bind(&c.venue)
                .bind(c.created_at)
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn concerts(&self) -> $crate::error::Result<Vec<$crate::catalogue::Concert>> {
                Ok(sqlx::query_as(
                    "SELECT id, title, performer, venue, created_at FROM concerts ORDER BY created_at, id",
                )
                .fetch_all(&self.read)
                .await?)
            }

            async fn concert(
                &self,
                id: uuid::Uuid,
            ) -> $crate::error::Result<Option<$crate::catalogue::Concert>> {
                Ok(sqlx::query_as(
                    "SELECT id, title, performer, venue, created_at FROM concerts WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.read)
                .await?)
            }

            async fn create_schedule(
                &self,
                s: &$crate::catalogue::Schedule,
                now: i64,
            ) -> $crate::error::Result<()> {
                let mut tx = self.write.begin().await?;
                sqlx::query(
                    "INSERT INTO schedules (id, concert_id, starts_at, booking_opens_at, booking_closes_at, seat_count, price, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(s.id)
                .bind(s.concert_id)
                .bind(s.starts_at)
                .bind(s.booking_opens_at)
                .bind(s.booking_closes_at)
                .bind(s.seat_count)
                .bind(s.price)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                // Seats 1..=seat_count in one statement, in a form both dialects accept.
                sqlx::query(
                    "INSERT INTO seats (schedule_id, number, price, state)
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
                     SELECT $1, i, $3, 'AVAILABLE' FROM n",
                )
                .bind(s.id)
                .bind(s.seat_count)
                .bind(s.price)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
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
                now: i64,
            ) -> $crate::error::Result<Option<$crate::catalogue::Schedule>> {
                let sql = format!("{} WHERE s.id = $1", $crate::store::sql::catalogue::SCHEDULE_SELECT);
                Ok(sqlx::query_as(&sql).bind(id).bind(now).fetch_optional(&self.read).await?)
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
        }
    };
}
pub(crate) use impl_catalogue_store;
