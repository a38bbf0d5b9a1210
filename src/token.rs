//! Personal link tokens. A token is 256 random bits, shown once (in a link) and stored
//! only as its SHA-256, so a copy of the database opens no form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The length of a token as it appears in a link.
pub const TOKEN_LENGTH: usize = 43;

/// A new token and the hash to store for it.
pub fn mint() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a token: lower-case hex SHA-256. Looking a token up by its hash in an
/// index leaks no timing about other tokens' bytes.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a string could be a token at all; anything else is a miss without a lookup.
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LENGTH && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_well_formed_and_stored_as_hashes() {
        let (a, ha) = mint();
        let (b, _) = mint();
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b));
        assert_eq!(ha.len(), 64);
        assert_eq!(ha, hash(&a));
        assert!(!ha.contains(&a));
        assert!(!well_formed("../../etc/passwd"));
    }
}
