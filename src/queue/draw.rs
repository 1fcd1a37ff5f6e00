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

/// The drawn order of `ids`.
pub fn order(seed: &[u8; 32], ids: Vec<TicketId>) -> Vec<TicketId> {
    let mut keyed: Vec<([u8; 32], TicketId)> = ids
        .into_iter()
        .map(|id| {
            let mut mac = Hmac::<Sha256>::new_from_slice(seed).expect("HMAC takes any key length");
            mac.update(ticket_id(id).as_bytes());
            (mac.finalize().into_bytes().into(), id)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, id)| id).collect()
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
        assert_eq!(commitment(&[0; 32]).len(), 64);
        assert_eq!(ticket_id(255), "000000000000000000000000000000ff");
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
