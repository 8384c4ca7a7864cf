//! Keyed pseudonyms: `p_` and the first 16 hex characters (64 bits) of
//! HMAC-SHA256(key, value). Deterministic for a key, so the same customer id in two
//! tables gets the same pseudonym and joins still work; without the key a pseudonym
//! cannot be recomputed from a guessed id (unlike a plain hash), and two keys give
//! unlinkable pseudonyms. 64 bits keep collisions negligible below ~10^8 distinct ids
//! (birthday bound ≈ n²/2^65).

use sha2::{Digest, Sha256};
use std::fmt;

/// The shortest key accepted: 16 bytes (128 bits). A shorter key can be guessed.
pub const MIN_KEY_BYTES: usize = 16;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// A pseudonymiser holding the user's key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer { key: <redacted> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymiser for `key` (surrounding whitespace, e.g. a file's final newline,
    /// is dropped). Errors when the key is shorter than [`MIN_KEY_BYTES`].
    pub fn new(key: &[u8]) -> Result<Self, String> {
        let key = key.trim_ascii();
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the pseudonym key has {} bytes; use at least {MIN_KEY_BYTES} random bytes (e.g. `openssl rand -hex 32`)",
                key.len()
            ));
        }
        Ok(Self { key: key.to_vec() })
    }

    /// `p_` + the first 16 hex characters of HMAC-SHA256(key, value). The value is
    /// trimmed first, so ` 42` and `42` are the same person.
    pub fn pseudonym(&self, value: &str) -> String {
        let mac = hmac_sha256(&self.key, value.trim().as_bytes());
        let mut out = String::with_capacity(18);
        out.push_str("p_");
        for b in &mac[..8] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc4231_vectors() {
        // Test case 1 and 2 of RFC 4231, and case 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn short_keys_are_refused_and_debug_hides_the_key() {
        assert!(Pseudonymizer::new(b"short").is_err());
        let p = Pseudonymizer::new(b"a-long-enough-secret-key").unwrap();
        assert!(!format!("{p:?}").contains("secret"));
        let a = p.pseudonym("C001");
        assert_eq!(a.len(), 18);
        assert!(a.starts_with("p_"));
        assert_eq!(a, p.pseudonym(" C001 "));
    }
}
