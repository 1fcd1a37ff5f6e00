//! `Money`: an integer number of won (KRW has no minor unit) with checked arithmetic.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest balance a wallet may hold.
pub const BALANCE_CAP: Money = Money(1_000_000_000_000);

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Money(pub i64);

impl Money {
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Money(5).checked_add(Money(7)), Some(Money(12)));
        assert_eq!(Money(i64::MAX).checked_add(Money(1)), None);
        assert_eq!(Money(i64::MIN).checked_sub(Money(1)), None);
        assert!(!Money(0).is_positive());
    }
}
