//! A concert's refund policy: fee tiers by hours left before the start, and the fee they set.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::money::Money;

const HOUR_MS: Millis = 3_600_000;

/// One tier: a refund asked for at least `untilHoursBefore` hours before the start pays
/// `feePercent` of the price, unless a tier with more hours also applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundTier {
    /// Hours before `startsAt`, at least 0.
    #[schema(minimum = 0, maximum = 87600)]
    pub until_hours_before: i64,
    /// 0 to 100.
    #[schema(minimum = 0, maximum = 100)]
    pub fee_percent: i64,
}

/// 1 to 10 tiers. Without one: free until 24 hours before the start, then closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RefundPolicy(pub Vec<RefundTier>);

/// Stored as JSON text in `concerts.refund_policy`, the same column type on both backends.
impl<DB: sqlx::Database> sqlx::Type<DB> for RefundPolicy
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for RefundPolicy
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> std::result::Result<Self, sqlx::error::BoxDynError> {
        let text = <String as sqlx::Decode<DB>>::decode(value)?;
        Ok(serde_json::from_str(&text)?)
    }
}

impl RefundPolicy {
    /// The JSON text the column holds.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "[]".into())
    }
}

/// What a refund keeps and gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fee {
    pub fee: Money,
    pub amount: Money,
}

impl RefundPolicy {
    /// The policy of a concert that set none.
    pub fn default_policy() -> RefundPolicy {
        RefundPolicy(vec![RefundTier {
            until_hours_before: 24,
            fee_percent: 0,
        }])
    }

    /// Checks tiers as the admin sent them; the error names the field.
    pub fn parse(tiers: Vec<RefundTier>) -> Result<RefundPolicy> {
        if tiers.is_empty() || tiers.len() > 10 {
            return Err(Error::validation("refundPolicy must have 1 to 10 tiers"));
        }
        for (i, t) in tiers.iter().enumerate() {
            // Ten years bounds every `hours * HOUR_MS` far from overflow.
            if !(0..=87_600).contains(&t.until_hours_before) {
                return Err(Error::validation(format!(
                    "refundPolicy[{i}].untilHoursBefore must be 0 to 87600"
                )));
            }
            if !(0..=100).contains(&t.fee_percent) {
                return Err(Error::validation(format!(
                    "refundPolicy[{i}].feePercent must be 0 to 100"
                )));
            }
        }
        Ok(RefundPolicy(tiers))
    }

    /// The tier that applies with `starts_at - now` left. Each tier runs until its
    /// `untilHoursBefore`; the one in force is the first whose deadline has not passed, i.e. of
    /// the tiers with `untilHoursBefore` ≤ hours left, the one with the largest
    /// `untilHoursBefore`. `[{240, 0}, {72, 10}]`: 300 hours left → 0 %, 100 hours → 10 %,
    /// 48 hours → none (closed).
    pub fn tier(&self, starts_at: Millis, now: Millis) -> Option<RefundTier> {
        let left = starts_at - now;
        self.0
            .iter()
            .filter(|t| left >= t.until_hours_before * HOUR_MS)
            .max_by_key(|t| t.until_hours_before)
            .copied()
    }

    /// The fee for refunding `price` at `now`: `price × percent / 100` rounded down to the won;
    /// `REFUND_CLOSED` past the last tier.
    pub fn fee(&self, price: Money, starts_at: Millis, now: Millis) -> Result<Fee> {
        let tier = self.tier(starts_at, now).ok_or(Error::RefundClosed)?;
        let fee = Money(price.0 * tier.fee_percent / 100);
        Ok(Fee {
            fee,
            amount: Money(price.0 - fee.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RefundPolicy {
        RefundPolicy::parse(vec![
            RefundTier {
                until_hours_before: 240,
                fee_percent: 0,
            },
            RefundTier {
                until_hours_before: 72,
                fee_percent: 10,
            },
            RefundTier {
                until_hours_before: 24,
                fee_percent: 33,
            },
        ])
        .unwrap()
    }

    #[test]
    fn each_tier_applies_until_its_hour() {
        let start = 1000 * HOUR_MS;
        let p = policy();
        let at = |hours_left: i64| p.tier(start, start - hours_left * HOUR_MS);
        assert_eq!(at(500).unwrap().fee_percent, 0);
        assert_eq!(at(240).unwrap().fee_percent, 0);
        assert_eq!(at(239).unwrap().fee_percent, 10);
        assert_eq!(at(72).unwrap().fee_percent, 10);
        assert_eq!(at(71).unwrap().fee_percent, 33);
        assert_eq!(at(24).unwrap().fee_percent, 33);
        assert_eq!(at(23), None);
        assert_eq!(p.tier(start, start - 24 * HOUR_MS + 1), None);
    }

    #[test]
    fn the_fee_rounds_down_to_the_won() {
        let start = 1000 * HOUR_MS;
        let fee = policy()
            .fee(Money(999), start, start - 30 * HOUR_MS)
            .unwrap();
        assert_eq!((fee.fee, fee.amount), (Money(329), Money(670)));
        let closed = policy().fee(Money(999), start, start);
        assert!(matches!(closed, Err(Error::RefundClosed)));
    }

    #[test]
    fn the_default_is_free_until_a_day_before() {
        let p = RefundPolicy::default_policy();
        let start = 100 * HOUR_MS;
        assert_eq!(
            p.fee(Money(100), start, start - 24 * HOUR_MS).unwrap().fee,
            Money(0)
        );
        assert!(p.fee(Money(100), start, start - 23 * HOUR_MS).is_err());
    }

    #[test]
    fn bad_policies_name_the_field() {
        let bad = |h, f| {
            RefundPolicy::parse(vec![RefundTier {
                until_hours_before: h,
                fee_percent: f,
            }])
            .unwrap_err()
            .to_string()
        };
        assert!(bad(-1, 0).contains("refundPolicy[0].untilHoursBefore"));
        assert!(bad(1, 101).contains("refundPolicy[0].feePercent"));
        assert!(RefundPolicy::parse(vec![]).is_err());
    }
}
