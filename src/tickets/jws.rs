//! Ticket codes: compact JWS (RFC 7515) signed with Ed25519 (`alg` `EdDSA`, RFC 8037), and the
//! public key as a JWK, so a gate can check a code offline.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// What a ticket code says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Claims {
    /// The ticket id, `{reservationId}.{place number}`.
    pub tid: String,
    /// The schedule id.
    pub sid: String,
    /// The seat's label, or the section's code for a standing place.
    pub seat: String,
    /// The holder's name.
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// The public key as a JWK (RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    /// The key's RFC 7638 thumbprint; ticket codes name it in their header.
    pub kid: String,
}

/// Checks codes against one public key.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: VerifyingKey,
    kid: String,
}

impl Verifier {
    pub fn new(key: VerifyingKey) -> Verifier {
        let x = B64.encode(key.as_bytes());
        // RFC 7638: the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = B64.encode(Sha256::digest(canonical.as_bytes()));
        Verifier { key, kid }
    }

    /// A verifier from what a gate is given: the JWK's `x`, or the whole JWK as JSON.
    pub fn from_key_text(text: &str) -> std::result::Result<Verifier, String> {
        let text = text.trim();
        let x = if text.starts_with('{') {
            let jwk: Jwk = serde_json::from_str(text).map_err(|e| format!("bad JWK: {e}"))?;
            if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
                return Err("the JWK is not an Ed25519 key (kty OKP, crv Ed25519)".into());
            }
            jwk.x
        } else {
            text.to_owned()
        };
        let bytes: [u8; 32] = B64
            .decode(x.trim_end_matches('='))
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the key must be 32 bytes in base64url")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|e| format!("bad key: {e}"))?;
        Ok(Verifier::new(key))
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: B64.encode(self.key.as_bytes()),
            kid: self.kid.clone(),
        }
    }

    /// The claims of a code signed by this key; `TICKET_INVALID` for anything else (another
    /// form, another algorithm or key, a changed byte).
    pub fn verify(&self, code: &str) -> Result<Claims> {
        let mut parts = code.trim().split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::TicketInvalid);
        };
        let header: Header = decode_json(h)?;
        if header.alg != "EdDSA" || header.kid.is_some_and(|k| k != self.kid) {
            return Err(Error::TicketInvalid);
        }
        let sig: [u8; 64] = B64
            .decode(s)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::TicketInvalid)?;
        let signing_input = &code.trim()[..h.len() + 1 + p.len()];
        self.key
            .verify_strict(signing_input.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| Error::TicketInvalid)?;
        decode_json(p)
    }
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T> {
    let bytes = B64.decode(part).map_err(|_| Error::TicketInvalid)?;
    serde_json::from_slice(&bytes).map_err(|_| Error::TicketInvalid)
}

/// Signs ticket codes with the service's key.
pub struct Signer {
    key: SigningKey,
    verifier: Verifier,
}

impl Signer {
    /// The key from 32 secret bytes (`SystemStore::secret("ticket-signing-key")`, the same on
    /// every instance of one database).
    pub fn new(secret: [u8; 32]) -> Signer {
        let key = SigningKey::from_bytes(&secret);
        let verifier = Verifier::new(key.verifying_key());
        Signer { key, verifier }
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            kid: Some(self.verifier.kid.clone()),
        };
        let input = format!("{}.{}", encode_json(&header), encode_json(claims));
        let sig = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }
}

/// A part of a code: JSON in base64url. The parts are plain structs of strings, whose
/// serialization cannot fail.
fn encode_json<T: Serialize>(value: &T) -> String {
    B64.encode(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            tid: "0190a0b0-0000-7000-8000-000000000001.7".into(),
            sid: "0190a0b0-0000-7000-8000-000000000002".into(),
            seat: "A-1-7".into(),
            name: "민지".into(),
        }
    }

    #[test]
    fn a_signed_code_verifies_with_the_published_key_only() {
        let signer = Signer::new([7; 32]);
        let code = signer.sign(&claims());
        assert_eq!(signer.verifier().verify(&code).unwrap(), claims());
        let jwk = signer.verifier().jwk();
        let by_x = Verifier::from_key_text(&jwk.x).unwrap();
        assert_eq!(by_x.verify(&code).unwrap(), claims());
        let by_jwk = Verifier::from_key_text(&serde_json::to_string(&jwk).unwrap()).unwrap();
        assert_eq!(by_jwk.verify(&code).unwrap(), claims());
        let other = Signer::new([8; 32]);
        assert!(other.verifier().verify(&code).is_err());
    }

    #[test]
    fn an_altered_code_is_invalid() {
        let signer = Signer::new([7; 32]);
        let code = signer.sign(&claims());
        let (input, _) = code.rsplit_once('.').unwrap();
        let (h, _) = input.split_once('.').unwrap();
        let mut forged = claims();
        forged.seat = "A-1-1".into();
        let payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        let sig = code.rsplit_once('.').unwrap().1;
        let v = signer.verifier();
        assert!(v.verify(&format!("{h}.{payload}.{sig}")).is_err());
        assert!(v.verify(&code[..code.len() - 2]).is_err());
        assert!(v.verify("a.b").is_err());
        assert!(v.verify(&format!("{code}.x")).is_err());
        let none = B64.encode(br#"{"alg":"none"}"#);
        let body = code.split('.').nth(1).unwrap();
        assert!(v.verify(&format!("{none}.{body}.")).is_err());
    }
}
