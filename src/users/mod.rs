//! Fans: sign-up with a random API key (only its hash is stored) and `GET /users/me`.

pub mod handlers;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;

/// A user as others may see it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub name: String,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user and an empty wallet in one transaction.
    async fn create_user(&self, user: &User, key_hash: &[u8], now: i64) -> Result<()>;
    async fn user_by_key_hash(&self, key_hash: &[u8]) -> Result<Option<User>>;
}
