//! Proof of work on join: a fan's browser spends a moment of CPU per place in line, which costs a
//! bot farm taking thousands of places thousands of times that.
//!
//! A challenge is stateless: user, concert, difficulty, expiry and 128 random bits, signed with
//! HMAC-SHA256 under a key every instance shares (`SystemStore::secret("queue-proof")`). The join
//! carries `X-Queue-Proof: {challenge}.{nonce}` where `sha256(challenge + "." + nonce)` starts
//! with `bits` zero bits. That a challenge works once is kept by the database
//! (`SystemStore::spend_proof`), shared by every instance, until the challenge expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::{self, Millis};
use crate::error::{Error, Result};

/// How long a fan has to solve a challenge and join with it.
pub const CHALLENGE_TTL: Millis = 5 * 60 * 1000;
/// Most difficulty the setting takes: 2^30 hashes is minutes in a browser already.
pub const MAX_BITS: u8 = 30;
/// Longest nonce accepted.
const MAX_NONCE: usize = 64;

/// Payload: user (16), concert (16), expiry ms (8), bits (1), random (16); then a 16-byte tag.
const PAYLOAD: usize = 16 + 16 + 8 + 1 + 16;
const TAG: usize = 16;

/// A challenge as `GET /concerts/{concertId}/queue/challenge` answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// Opaque; join with `X-Queue-Proof: {challenge}.{nonce}`.
    pub challenge: String,
    /// Leading zero bits `sha256(challenge + "." + nonce)` must have.
    pub bits: u8,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Millis,
}

pub struct ProofCodec {
    key: [u8; 32],
}

impl ProofCodec {
    pub fn new(key: [u8; 32]) -> Self {
        ProofCodec { key }
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG];
        tag.copy_from_slice(&full[..TAG]);
        tag
    }

    /// A fresh challenge for `user` to join `concert`.
    pub fn issue(&self, user: Uuid, concert: Uuid, bits: u8, now: Millis) -> Challenge {
        let expires_at = now + CHALLENGE_TTL;
        let mut raw = Vec::with_capacity(PAYLOAD + TAG);
        raw.extend_from_slice(user.as_bytes());
        raw.extend_from_slice(concert.as_bytes());
        raw.extend_from_slice(&expires_at.to_be_bytes());
        raw.push(bits);
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        raw.extend_from_slice(&random);
        let tag = self.tag(&raw);
        raw.extend_from_slice(&tag);
        Challenge {
            challenge: URL_SAFE_NO_PAD.encode(raw),
            bits,
            expires_at,
        }
    }

    /// Checks an `X-Queue-Proof` for `user` joining `concert` with at least `bits` of work.
    /// Answers the challenge's expiry and a digest naming it, for the spent-once record.
    pub fn check(
        &self,
        proof: &str,
        user: Uuid,
        concert: Uuid,
        bits: u8,
        now: Millis,
    ) -> Result<Spent> {
        let (challenge, nonce) = proof.rsplit_once('.').ok_or(Error::ProofInvalid)?;
        if nonce.is_empty() || nonce.len() > MAX_NONCE {
            return Err(Error::ProofInvalid);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(challenge)
            .map_err(|_| Error::ProofInvalid)?;
        if raw.len() != PAYLOAD + TAG {
            return Err(Error::ProofInvalid);
        }
        let (payload, tag) = raw.split_at(PAYLOAD);
        // Comparing HMAC outputs: `Mac::verify_truncated_left` is constant-time.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(payload);
        mac.verify_truncated_left(tag)
            .map_err(|_| Error::ProofInvalid)?;
        let for_user = &payload[..16] == user.as_bytes();
        let for_concert = &payload[16..32] == concert.as_bytes();
        let expires_at = Millis::from_be_bytes(payload[32..40].try_into().expect("8 bytes"));
        let issued_bits = payload[40];
        if !for_user || !for_concert || expires_at <= now || issued_bits < bits {
            return Err(Error::ProofInvalid);
        }
        let digest = Sha256::digest(format!("{challenge}.{nonce}").as_bytes());
        if leading_zero_bits(&digest) < u32::from(issued_bits) {
            return Err(Error::ProofInvalid);
        }
        Ok(Spent {
            id: Sha256::digest(challenge.as_bytes()).into(),
            expires_at,
        })
    }
}

/// A checked proof: its challenge's digest, and until when it must be remembered as spent.
#[derive(Debug, Clone, Copy)]
pub struct Spent {
    pub id: [u8; 32],
    pub expires_at: Millis,
}

pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut n = 0;
    for b in digest {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solve(c: &Challenge) -> String {
        (0u64..)
            .map(|n| n.to_string())
            .find(|nonce| {
                let d = Sha256::digest(format!("{}.{nonce}", c.challenge).as_bytes());
                leading_zero_bits(&d) >= u32::from(c.bits)
            })
            .map(|nonce| format!("{}.{nonce}", c.challenge))
            .unwrap()
    }

    #[test]
    fn a_solved_challenge_passes_for_its_user_and_concert_only() {
        let codec = ProofCodec::new([7; 32]);
        let (user, concert) = (Uuid::now_v7(), Uuid::now_v7());
        let c = codec.issue(user, concert, 8, 1000);
        let proof = solve(&c);
        assert!(codec.check(&proof, user, concert, 8, 2000).is_ok());
        assert!(
            codec
                .check(&proof, Uuid::now_v7(), concert, 8, 2000)
                .is_err()
        );
        assert!(codec.check(&proof, user, Uuid::now_v7(), 8, 2000).is_err());
        // Expired, or asked for more work than it was issued with.
        assert!(codec.check(&proof, user, concert, 8, c.expires_at).is_err());
        assert!(codec.check(&proof, user, concert, 9, 2000).is_err());
        // Another key's challenge, or a wrong nonce.
        let other = ProofCodec::new([8; 32]);
        assert!(other.check(&proof, user, concert, 8, 2000).is_err());
        let unsolved = format!("{}.x", c.challenge);
        let fails = (0..20)
            .filter(|i| {
                codec
                    .check(&format!("{unsolved}{i}"), user, concert, 8, 2000)
                    .is_err()
            })
            .count();
        assert!(fails >= 15, "a random nonce rarely has 8 zero bits");
    }

    #[test]
    fn zero_bits_are_counted_from_the_first_byte() {
        assert_eq!(leading_zero_bits(&[0, 0x0f, 0xff]), 12);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }
}
