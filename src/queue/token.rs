//! Queue tokens: the concert id and 128 random bits naming the ticket, plus a 128-bit HMAC tag.
//! A forged token is told apart from one that was issued and has since expired without
//! remembering expired tickets, and the concert inside lets a backend find the ticket's line
//! without a global index.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

use crate::error::Error;

/// The random part of a token; the key of the ticket in every queue backend.
pub type TicketId = u128;

const LEN: usize = 48;

#[derive(Clone)]
pub struct TokenCodec {
    /// The HMAC with its key already absorbed: cloning it skips two of the four SHA-256
    /// compressions every sign and verify would otherwise repeat.
    keyed: Hmac<Sha256>,
}

impl TokenCodec {
    pub fn new(key: [u8; 32]) -> Self {
        TokenCodec {
            keyed: Hmac::<Sha256>::new_from_slice(&key).expect("any key length works"),
        }
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac
    }

    /// A new random ticket id. `thread_rng` is a CSPRNG seeded from the OS; asking the OS itself
    /// would cost a system call per join. Ids need not be secret anyway: the tag signs them.
    pub fn new_id() -> TicketId {
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        TicketId::from_be_bytes(raw)
    }

    pub fn encode(&self, concert_id: Uuid, id: TicketId) -> String {
        let mut bytes = [0u8; LEN];
        bytes[..16].copy_from_slice(concert_id.as_bytes());
        bytes[16..32].copy_from_slice(&id.to_be_bytes());
        let tag = self.mac(&bytes[..32]).finalize().into_bytes();
        bytes[32..].copy_from_slice(&tag[..16]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The concert and ticket id of a token this service issued, or `QUEUE_TOKEN_INVALID`.
    /// Checks the token's signature once: what it names, for every call that follows.
    pub fn verify<'a>(&self, token: &'a str) -> Result<Verified<'a>, Error> {
        let (concert, id) = self.decode(token)?;
        Ok(Verified { token, concert, id })
    }

    pub fn decode(&self, token: &str) -> Result<(Uuid, TicketId), Error> {
        if token.len() != 64 {
            return Err(Error::QueueTokenInvalid);
        }
        let mut bytes = [0u8; LEN];
        match URL_SAFE_NO_PAD.decode_slice(token.as_bytes(), &mut bytes) {
            Ok(LEN) => {}
            _ => return Err(Error::QueueTokenInvalid),
        }
        // verify_truncated_left compares in constant time.
        self.mac(&bytes[..32])
            .verify_truncated_left(&bytes[32..])
            .map_err(|_| Error::QueueTokenInvalid)?;
        let concert = Uuid::from_slice(&bytes[..16]).map_err(|_| Error::QueueTokenInvalid)?;
        let id = TicketId::from_be_bytes(bytes[16..32].try_into().expect("16 bytes"));
        Ok((concert, id))
    }
}

/// A queue token whose signature checked out, with what it names.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a> {
    pub token: &'a str,
    pub concert: Uuid,
    pub id: TicketId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_are_refused() {
        let codec = TokenCodec::new([7; 32]);
        let concert = Uuid::now_v7();
        let id = TokenCodec::new_id();
        let token = codec.encode(concert, id);
        assert_eq!(codec.decode(&token).unwrap(), (concert, id));
        let other = TokenCodec::new([8; 32]);
        assert!(matches!(
            other.decode(&token),
            Err(Error::QueueTokenInvalid)
        ));
        let mut forged = token.clone().into_bytes();
        forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
        assert!(codec.decode(std::str::from_utf8(&forged).unwrap()).is_err());
        assert!(codec.decode("short").is_err());
        assert!(codec.decode(&"A".repeat(64)).is_err());
    }
}
