//! `TicketStore` in SQL: the `checkins` primary key decides which scan of a ticket is first.

/// When the first ticket of reservation `$1` was let in (NULL if none was): the quote asks it on a
/// reader, the refund inside its transaction.
pub(crate) const FIRST_CHECK_IN: &str =
    "SELECT min(checked_in_at) FROM checkins WHERE reservation_id = $1";

macro_rules! impl_ticket_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::tickets::TicketStore for $crate::store::sql::SqlStore<$db> {
            async fn check_in(
                &self,
                ticket: $crate::tickets::TicketId,
                now: i64,
            ) -> $crate::error::Result<$crate::tickets::CheckIn> {
                use $crate::tickets::CheckIn;
                // One statement: only a CONFIRMED reservation's ticket goes in, and only once.
                // PostgreSQL: the reservation row is share-locked until the commit, so a refund
                // in flight (which updates that row first) either ends before this reads it, or
                // waits and then sees the check-in. SQLite's one writer runs each whole.
                let share = if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                    " FOR SHARE OF r"
                } else {
                    ""
                };
                let sql = format!(
                    "INSERT INTO checkins (ticket_id, reservation_id, schedule_id, number, checked_in_at)
                     SELECT $1, r.id, r.schedule_id, $3, $4 FROM reservations r
                      WHERE r.id = $2 AND r.status = 'CONFIRMED'{share}
                     ON CONFLICT DO NOTHING"
                );
                let mut tx = self.write.begin().await?;
                let inserted = sqlx::query(&sql)
                .bind(ticket.to_string())
                .bind(ticket.reservation_id)
                .bind(ticket.number)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    let schedule_id: uuid::Uuid =
                        sqlx::query_scalar("SELECT schedule_id FROM checkins WHERE ticket_id = $1")
                            .bind(ticket.to_string())
                            .fetch_one(&mut *tx)
                            .await?;
                    let event = $crate::webhooks::Event::new(
                        $crate::webhooks::EventType::TicketCheckedIn,
                        now,
                        serde_json::json!({"ticketId": ticket.to_string(),
                                           "reservationId": ticket.reservation_id,
                                           "scheduleId": schedule_id, "place": ticket.number,
                                           "checkedInAt": $crate::clock::to_rfc3339(now)}),
                    );
                    Self::emit(&mut tx, &event).await?;
                    tx.commit().await?;
                    return Ok(CheckIn::First(now));
                }
                tx.rollback().await?;
                let at: Option<i64> =
                    sqlx::query_scalar("SELECT checked_in_at FROM checkins WHERE ticket_id = $1")
                        .bind(ticket.to_string())
                        .fetch_optional(&self.write)
                        .await?;
                Ok(at.map_or(CheckIn::Void, CheckIn::Already))
            }

            async fn first_check_in(
                &self,
                reservation_id: uuid::Uuid,
            ) -> $crate::error::Result<Option<i64>> {
                Ok(sqlx::query_scalar($crate::store::sql::tickets::FIRST_CHECK_IN)
                .bind(reservation_id)
                .fetch_one(&self.read)
                .await?)
            }
        }
    };
}
pub(crate) use impl_ticket_store;
