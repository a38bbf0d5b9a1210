//! Personal link tokens. A token is 256 random bits, shown once (in a link) and stored
//! only as its SHA-256, so a copy of the database opens no form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The length of a token as it appears in a link.
pub const TOKEN_LENGTH: usize = 43;

/// A link token that is well formed: the only way a string from a link reaches a lookup.
/// Its `Debug` hides it, so a token never lands in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token in a link, if the text could be one at all; anything else is a miss
    /// without a lookup.
    pub fn parse(text: &str) -> Option<Token> {
        well_formed(text).then(|| Token(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored form of the token.
    pub fn hash(&self) -> String {
        hash(&self.0)
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// 256 random bits as URL-safe text: for link tokens, CSRF tokens, Message-IDs, secrets.
pub fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new token and the hash to store for it.
pub fn mint() -> (Token, String) {
    let token = Token(random());
    let hash = token.hash();
    (token, hash)
}

/// The stored form of a token: lower-case hex SHA-256. Looking a token up by its hash in an
/// index leaks no timing about other tokens' bytes.
fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn well_formed(token: &str) -> bool {
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
        assert_eq!(Token::parse(a.as_str()), Some(a.clone()));
        assert_eq!(ha.len(), 64);
        assert_eq!(ha, a.hash());
        assert!(!ha.contains(a.as_str()));
        assert_eq!(Token::parse("../../etc/passwd"), None);
        assert_eq!(format!("{a:?}"), "Token(…)");
    }
}
