//! An email address as it enters: from a roster file, the accounts page or the command line.
//! Parsed once, lower-cased, so that the same address written twice is one recipient.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// Why a text is not an address, in a sentence a coordinator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressProblem {
    #[error("e-postadress saknas")]
    Missing,
    #[error("\"{0}\" är inte en giltig e-postadress")]
    Invalid(String),
}

impl EmailAddress {
    /// Trims, composes (NFC: an å typed as a + ring is the same å) and lower-cases; refuses
    /// what is not an address on a domain with a dot.
    pub fn parse(text: &str) -> Result<EmailAddress, AddressProblem> {
        use unicode_normalization::UnicodeNormalization;
        let text = text.trim().nfc().collect::<String>().to_lowercase();
        if text.is_empty() {
            return Err(AddressProblem::Missing);
        }
        if !email_address::EmailAddress::is_valid(&text) || !text.rsplit('@').next().is_some_and(|d| d.contains('.')) {
            return Err(AddressProblem::Invalid(text));
        }
        Ok(EmailAddress(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = AddressProblem;
    fn from_str(s: &str) -> Result<EmailAddress, AddressProblem> {
        EmailAddress::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_lower_cased_and_checked() {
        assert_eq!(EmailAddress::parse(" Anna.Berg@Stad.SE ").unwrap().as_str(), "anna.berg@stad.se");
        assert_eq!(EmailAddress::parse(""), Err(AddressProblem::Missing));
        assert!(matches!(EmailAddress::parse("anna@localhost"), Err(AddressProblem::Invalid(_))));
        assert!(matches!(EmailAddress::parse("inte en adress"), Err(AddressProblem::Invalid(_))));
        assert_eq!(EmailAddress::parse("åsa.öberg@förvaltning.se").unwrap().as_str(), "åsa.öberg@förvaltning.se");
        // The same address with å and ö written as letter + combining mark (as macOS files have them).
        assert_eq!(
            EmailAddress::parse("A\u{30a}sa.o\u{308}berg@förvaltning.se"),
            EmailAddress::parse("åsa.öberg@förvaltning.se")
        );
    }
}
