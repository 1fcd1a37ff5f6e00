//! The pre-queue draw anyone can check: the tickets in ascending order of
//! `HMAC-SHA256(key = seed, message = ticketId)`, the seed committed to in advance by its SHA-256
//! and revealed at the on-sale time.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::token::TicketId;
use crate::clock::{self, Millis};

pub const ALGORITHM: &str = "Tickets sorted ascending by HMAC-SHA256(key = the 32 seed bytes, \
    message = ticketId as UTF-8), the outputs compared as bytes. seed: the 32 bytes as 64 \
    lowercase hex characters; commitment: lowercase hex SHA-256 of the same 32 bytes, published \
    before the draw.";

/// A ticket's public id: safe to show, since a token also needs the service's signature.
pub fn ticket_id(id: TicketId) -> String {
    format!("{id:032x}")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn commitment(seed: &[u8; 32]) -> String {
    hex(&Sha256::digest(seed))
}

/// The ticket's HMAC under the seed: what the draw sorts by.
fn mac(seed: &[u8; 32], id: TicketId) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(seed).expect("HMAC takes any key length");
    mac.update(ticket_id(id).as_bytes());
    mac.finalize().into_bytes().into()
}

/// The drawn order of `ids`.
pub fn order(seed: &[u8; 32], ids: Vec<TicketId>) -> Vec<TicketId> {
    let mut keyed: Vec<([u8; 32], TicketId)> =
        ids.into_iter().map(|id| (mac(seed, id), id)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Bits of the HMAC in a [`key`]: few enough that a key and [`TIE_SLOTS`] steps between two keys
/// are exact in a double (a Redis sorted-set score).
const KEY_BITS: u32 = 48;
/// Scores between a key and the next that a double holds exactly: 2^(53 - 48).
pub const TIE_SLOTS: u32 = 1 << (53 - KEY_BITS);

/// The ticket's draw key: the first 48 bits of its HMAC as an integer. Sorting by key is the
/// drawn order, except among tickets whose keys tie (about once in 56,000 draws of 100,000),
/// which [`tie_scores`] orders by the whole HMAC.
pub fn key(seed: &[u8; 32], id: TicketId) -> u64 {
    let m = mac(seed, id);
    let mut first = [0u8; 8];
    first[2..].copy_from_slice(&m[..6]);
    u64::from_be_bytes(first)
}

/// Scores for tickets that share the draw key `key`, in drawn order: the key plus a step of
/// 1/32 each, so a sort by score is the sort by the whole HMAC. More than 32 tickets on one
/// 48-bit key (never met in practice) share the last step.
pub fn tie_scores(seed: &[u8; 32], key: u64, ids: Vec<TicketId>) -> Vec<(TicketId, f64)> {
    order(seed, ids)
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let step = (i as u32).min(TIE_SLOTS - 1);
            (id, key as f64 + f64::from(step) / f64::from(TIE_SLOTS))
        })
        .collect()
}

/// `GET /concerts/{id}/queue/draw`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrawView {
    #[serde(serialize_with = "clock::ser_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub on_sale_at: Option<Millis>,
    /// Lowercase hex SHA-256 of the seed; null for a concert without an on-sale time.
    pub commitment: Option<String>,
    /// The 32 seed bytes as lowercase hex; null until the on-sale time.
    pub seed: Option<String>,
    pub algorithm: &'static str,
    /// After the draw: every pre-queue ticket in drawn order. Before it: the pre-queue so far,
    /// in join order.
    pub ticket_ids: Vec<String>,
    /// Whether `ticketIds` is the drawn order yet.
    pub drawn: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_the_hmac_order_and_depends_on_the_seed() {
        let ids: Vec<TicketId> = (1..=50).collect();
        let a = order(&[1; 32], ids.clone());
        let b = order(&[2; 32], ids.clone());
        assert_ne!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, ids, "a permutation");
        // Recomputed the way a fan would, from the published encodings.
        let mac = |id: TicketId| {
            let mut m = Hmac::<Sha256>::new_from_slice(&[1; 32]).unwrap();
            m.update(ticket_id(id).as_bytes());
            m.finalize().into_bytes().to_vec()
        };
        assert!(a.windows(2).all(|w| mac(w[0]) < mac(w[1])));
        // The draw key is the HMAC's first six bytes.
        for id in [1, 50] {
            assert_eq!(key(&[1; 32], id).to_be_bytes()[2..], mac(id)[..6]);
        }
        assert_eq!(commitment(&[0; 32]).len(), 64);
        assert_eq!(ticket_id(255), "000000000000000000000000000000ff");
    }

    /// Tickets on one draw key get scores between that key and the next, in drawn order, each
    /// exact as a double.
    #[test]
    fn tied_keys_get_scores_in_hmac_order_below_the_next_key() {
        let seed = [3; 32];
        let ids: Vec<TicketId> = (1..=5).collect();
        let k = (1u64 << 48) - 1;
        let scores = tie_scores(&seed, k, ids.clone());
        assert_eq!(
            scores.iter().map(|s| s.0).collect::<Vec<_>>(),
            order(&seed, ids)
        );
        for (i, (_, s)) in scores.iter().enumerate() {
            assert_eq!(*s, k as f64 + i as f64 / 32.0);
            assert!(*s < (k + 1) as f64);
            assert_eq!(s.to_string().parse::<f64>().unwrap(), *s, "exact as text");
        }
        assert!(scores.windows(2).all(|w| w[0].1 < w[1].1));
    }

    /// Over many draws every ticket lands in every place about equally often: Pearson's
    /// chi-square over the 8 × 8 table of (ticket, place) counts stays under the 0.1% critical
    /// value for 49 degrees of freedom (85.35). Seeds come from a fixed generator, so the test
    /// is the same every run.
    #[test]
    fn no_ticket_is_favoured_by_its_place_in_the_pre_queue() {
        use rand::{Rng, SeedableRng};
        const N: usize = 8;
        const DRAWS: usize = 4000;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let ids: Vec<TicketId> = (0..N as TicketId).map(|i| i * 7919 + 3).collect();
        let mut counts = [[0u32; N]; N];
        for _ in 0..DRAWS {
            let seed: [u8; 32] = rng.random();
            for (place, id) in order(&seed, ids.clone()).into_iter().enumerate() {
                let ticket = ids.iter().position(|&t| t == id).unwrap();
                counts[ticket][place] += 1;
            }
        }
        let expected = (DRAWS / N) as f64;
        let chi2: f64 = counts
            .iter()
            .flatten()
            .map(|&c| (f64::from(c) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 85.35, "chi-square {chi2:.1} over {DRAWS} draws");
    }
}
