//! Queue tokens: 128 random bits naming the ticket plus a 128-bit HMAC tag, so a forged token is
//! told apart from one that was issued and has since expired, without remembering expired ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::Error;

/// The random part of a token; the key of the ticket in every queue backend.
pub type TicketId = u128;

#[derive(Clone)]
pub struct TokenCodec {
    key: [u8; 32],
}

impl TokenCodec {
    pub fn new(key: [u8; 32]) -> Self {
        TokenCodec { key }
    }

    fn tag(&self, id: TicketId) -> [u8; 16] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(&id.to_be_bytes());
        let full = mac.finalize().into_bytes();
        full[..16].try_into().expect("16 of 32 bytes")
    }

    /// A new ticket id and its token.
    pub fn issue(&self) -> (TicketId, String) {
        let mut raw = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let id = TicketId::from_be_bytes(raw);
        (id, self.encode(id))
    }

    pub fn encode(&self, id: TicketId) -> String {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&id.to_be_bytes());
        bytes[16..].copy_from_slice(&self.tag(id));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The ticket id of a token this service issued, or `QUEUE_TOKEN_INVALID`.
    pub fn decode(&self, token: &str) -> Result<TicketId, Error> {
        let mut bytes = [0u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(token.as_bytes(), &mut bytes) {
            Ok(32) => {}
            _ => return Err(Error::QueueTokenInvalid),
        }
        let id = TicketId::from_be_bytes(bytes[..16].try_into().expect("16 bytes"));
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(&id.to_be_bytes());
        // verify_truncated_left compares in constant time.
        mac.verify_truncated_left(&bytes[16..])
            .map_err(|_| Error::QueueTokenInvalid)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_are_refused() {
        let codec = TokenCodec::new([7; 32]);
        let (id, token) = codec.issue();
        assert_eq!(codec.decode(&token).unwrap(), id);
        let other = TokenCodec::new([8; 32]);
        assert!(matches!(
            other.decode(&token),
            Err(Error::QueueTokenInvalid)
        ));
        let mut forged = token.clone().into_bytes();
        forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
        assert!(codec.decode(std::str::from_utf8(&forged).unwrap()).is_err());
        assert!(codec.decode("short").is_err());
        assert!(codec.decode(&"A".repeat(200)).is_err());
    }
}
