//! `UserStore` in SQL.

macro_rules! impl_user_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl $crate::users::UserStore for $crate::store::sql::SqlStore<$db> {
            async fn create_user(
                &self,
                user: &$crate::users::User,
                key_hash: &[u8],
                now: i64,
            ) -> $crate::error::Result<()> {
                let mut tx = self.write.begin().await?;
                sqlx::query("INSERT INTO users (id, name, api_key_hash, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(user.id)
                    .bind(&user.name)
                    .bind(key_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO wallets (user_id, balance, updated_at) VALUES ($1, 0, $2)")
                    .bind(user.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn user_by_key_hash(
                &self,
                key_hash: &[u8],
            ) -> $crate::error::Result<Option<$crate::users::User>> {
                Ok(sqlx::query_as("SELECT id, name FROM users WHERE api_key_hash = $1")
                    .bind(key_hash)
                    .fetch_optional(&self.read)
                    .await?)
            }
        }
    };
}
pub(crate) use impl_user_store;
