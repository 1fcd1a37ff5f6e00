//! `WalletStore` in SQL, and the idempotency-key helpers that charges and payments share.

/// The columns of a ledger line, in `Transaction`'s field order.
pub(crate) const TX_COLS: &str = "id, kind, amount, balance_after, reservation_id, created_at";

macro_rules! impl_wallet_store {
    ($db:ty) => {
        impl $crate::store::sql::SqlStore<$db> {
            /// Claims `idem` inside `tx`. `Ok(None)`: this request owns the key and must store
            /// its answer before committing. `Ok(Some(answer))`: the key was used before with the
            /// same body. A concurrent holder of the key makes this wait for its commit.
            async fn idem_claim(
                tx: &mut <$db as sqlx::Database>::Connection,
                user_id: uuid::Uuid,
                idem: &$crate::idempotency::IdemKey,
                now: i64,
            ) -> $crate::error::Result<Option<$crate::idempotency::Stored>> {
                let claimed = sqlx::query(
                    "INSERT INTO idempotency_keys (user_id, scope, key, fingerprint, status, body, created_at)
                     VALUES ($1, $2, $3, $4, 0, '', $5) ON CONFLICT DO NOTHING",
                )
                .bind(user_id)
                .bind(idem.scope)
                .bind(&idem.key)
                .bind(&idem.fingerprint)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 1 {
                    return Ok(None);
                }
                Self::idem_existing(&mut *tx, user_id, idem).await.map(Some)
            }

            /// The answer stored under a key that is known to exist.
            async fn idem_existing<'e, E>(
                ex: E,
                user_id: uuid::Uuid,
                idem: &$crate::idempotency::IdemKey,
            ) -> $crate::error::Result<$crate::idempotency::Stored>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let (fingerprint, status, body): (Vec<u8>, i64, String) = sqlx::query_as(
                    "SELECT fingerprint, status, body FROM idempotency_keys
                      WHERE user_id = $1 AND scope = $2 AND key = $3",
                )
                .bind(user_id)
                .bind(idem.scope)
                .bind(&idem.key)
                .fetch_one(ex)
                .await?;
                if fingerprint != idem.fingerprint {
                    return Err($crate::error::Error::IdempotencyKeyReused);
                }
                Ok($crate::idempotency::Stored { status: status as u16, body })
            }

            /// Stores the answer for a claimed key, in the claiming transaction.
            async fn idem_store(
                tx: &mut <$db as sqlx::Database>::Connection,
                user_id: uuid::Uuid,
                idem: &$crate::idempotency::IdemKey,
                answer: &$crate::idempotency::Stored,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "UPDATE idempotency_keys SET status = $4, body = $5 WHERE user_id = $1 AND scope = $2 AND key = $3",
                )
                .bind(user_id)
                .bind(idem.scope)
                .bind(&idem.key)
                .bind(i64::from(answer.status))
                .bind(&answer.body)
                .execute(&mut *tx)
                .await?;
                Ok(())
            }

            /// After a business error rolled the effect back: keep the error as the key's first
            /// answer (unless another request stored one first, which then wins). The outer
            /// error is the database's; the inner result is the answer.
            pub(crate) async fn idem_refuse<T>(
                conn: &mut <$db as sqlx::Database>::Connection,
                user_id: uuid::Uuid,
                idem: Option<&$crate::idempotency::IdemKey>,
                err: $crate::error::Error,
                now: i64,
            ) -> $crate::error::Result<$crate::error::Result<$crate::idempotency::Replayable<T>>> {
                let Some(idem) = idem.filter(|_| $crate::idempotency::is_replayable(&err)) else {
                    return Ok(Err(err));
                };
                let answer = $crate::idempotency::Stored::of_error(&err);
                let stored = sqlx::query(
                    "INSERT INTO idempotency_keys (user_id, scope, key, fingerprint, status, body, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(user_id)
                .bind(idem.scope)
                .bind(&idem.key)
                .bind(&idem.fingerprint)
                .bind(i64::from(answer.status))
                .bind(&answer.body)
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if stored == 1 {
                    return Ok(Err(err));
                }
                Ok(Ok($crate::idempotency::Replayable::Replay(
                    Self::idem_existing(&mut *conn, user_id, idem).await?,
                )))
            }

            /// `idem_refuse` on a writer connection of its own, after the transaction that
            /// refused has rolled back.
            pub(crate) async fn idem_fail<T>(
                &self,
                user_id: uuid::Uuid,
                idem: Option<&$crate::idempotency::IdemKey>,
                err: $crate::error::Error,
                now: i64,
            ) -> $crate::error::Result<$crate::idempotency::Replayable<T>> {
                if idem.is_none() {
                    return Err(err);
                }
                let mut conn = self.write.acquire().await?;
                Self::idem_refuse(&mut conn, user_id, idem, err, now).await?
            }

            async fn charge_in(
                tx: &mut <$db as sqlx::Database>::Connection,
                user_id: uuid::Uuid,
                amount: $crate::money::Money,
                now: i64,
            ) -> $crate::error::Result<$crate::wallet::ChargeReceipt> {
                let balance: Option<$crate::money::Money> = sqlx::query_scalar(
                    "UPDATE wallets SET balance = balance + $2, updated_at = $3
                      WHERE user_id = $1 AND balance + $2 <= $4 RETURNING balance",
                )
                .bind(user_id)
                .bind(amount)
                .bind(now)
                .bind($crate::money::BALANCE_CAP)
                .fetch_optional(&mut *tx)
                .await?;
                let balance = balance.ok_or($crate::error::Error::BalanceLimit)?;
                let sql = format!(
                    "INSERT INTO wallet_transactions (user_id, {cols})
                     VALUES ($1, $2, 'CHARGE', $3, $4, NULL, $5) RETURNING {cols}",
                    cols = $crate::store::sql::wallet::TX_COLS
                );
                let transaction = sqlx::query_as(&sql)
                    .bind(user_id)
                    .bind(uuid::Uuid::now_v7())
                    .bind(amount)
                    .bind(balance)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                Ok($crate::wallet::ChargeReceipt { balance, transaction })
            }
        }

        impl $crate::store::sql::SqlStore<$db> {
            /// The charge's statements on `conn` (see `pay_steps`).
            pub(crate) async fn charge_steps(
                conn: &mut <$db as sqlx::Database>::Connection,
                user_id: uuid::Uuid,
                amount: $crate::money::Money,
                now: i64,
                idem: Option<&$crate::idempotency::IdemKey>,
            ) -> $crate::error::Result<$crate::store::sql::Step<$crate::wallet::ChargeReceipt>> {
                use $crate::store::sql::Step;
                if let Some(idem) = idem
                    && let Some(answer) = Self::idem_claim(&mut *conn, user_id, idem, now).await?
                {
                    return Ok(Step::Replay(answer));
                }
                let receipt = match Self::charge_in(&mut *conn, user_id, amount, now).await {
                    Ok(r) => r,
                    Err(e) if e.status().is_client_error() => return Ok(Step::Refused(e)),
                    Err(e) => return Err(e),
                };
                if let Some(idem) = idem {
                    let answer = $crate::idempotency::Stored::of(axum::http::StatusCode::OK, &receipt);
                    Self::idem_store(&mut *conn, user_id, idem, &answer).await?;
                }
                Ok(Step::Done(receipt))
            }

        }

        #[async_trait::async_trait]
        impl $crate::wallet::WalletStore for $crate::store::sql::SqlStore<$db> {
            async fn wallet(&self, user_id: uuid::Uuid) -> $crate::error::Result<$crate::wallet::Wallet> {
                Ok(sqlx::query_as("SELECT balance, updated_at FROM wallets WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_one(&self.read)
                    .await?)
            }

            async fn charge(
                &self,
                user_id: uuid::Uuid,
                amount: $crate::money::Money,
                now: i64,
                idem: Option<&$crate::idempotency::IdemKey>,
            ) -> $crate::error::Result<$crate::idempotency::Replayable<$crate::wallet::ChargeReceipt>> {
                // In a group of writes on SQLite, a transaction on PostgreSQL.
                let key = idem.cloned();
                let w = $crate::store::sql::Keyed { user_id, now, idem };
                self.write_steps(w, move |conn| {
                    Box::pin(async move {
                        Self::charge_steps(conn, user_id, amount, now, key.as_ref()).await
                    })
                })
                .await
            }

            async fn transactions(
                &self,
                user_id: uuid::Uuid,
                page: $crate::page::PageRequest,
            ) -> $crate::error::Result<$crate::page::Page<$crate::wallet::Transaction>> {
                let sql = format!(
                    "SELECT {} FROM wallet_transactions WHERE user_id = $1 AND ($2 IS NULL OR id < $2)
                      ORDER BY id DESC LIMIT $3",
                    $crate::store::sql::wallet::TX_COLS
                );
                let rows: Vec<$crate::wallet::Transaction> = sqlx::query_as(&sql)
                    .bind(user_id)
                    .bind(page.before)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.read)
                    .await?;
                Ok($crate::page::Page::from_rows(rows, page, |t| t.id))
            }
        }
    };
}
pub(crate) use impl_wallet_store;
