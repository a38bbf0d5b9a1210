//! Accounts of the admin pages: roles, the password policy, password hashing and the brake
//! on guessed passwords. `queries` holds the SQL.

mod queries;

pub use queries::{Account, LoginOutcome, now_ms};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Fewest characters in a password. Long passphrases beat complex short ones.
pub const MIN_PASSWORD_LENGTH: usize = 12;

/// A one-time link to set a password works this long.
pub const PASSWORD_LINK_DAYS: i64 = 7;

/// Failed logins on one account before each further attempt has to wait.
pub const FREE_FAILURES: i64 = 5;

/// The first wait after `FREE_FAILURES`; it doubles with each further failure.
pub const FIRST_WAIT_SECONDS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs rounds: roster, emails, dates, accounts. Sees who answered, never what.
    Coordinator,
    /// Reads the results: exports, charts, report. Changes nothing, sees no addresses.
    Analyst,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Analyst => "analyst",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "coordinator" => Some(Role::Coordinator),
            "analyst" => Some(Role::Analyst),
            _ => None,
        }
    }

    pub fn swedish(self) -> &'static str {
        match self {
            Role::Coordinator => "samordnare",
            Role::Analyst => "analytiker",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::parse(s).ok_or_else(|| format!("`{s}` is not a role: coordinator or analyst"))
    }
}

/// Why a password is refused, in words the person choosing it can act on; `None` if it is good.
pub fn password_problem(password: &str, email: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Some(format!(
            "Lösenordet måste ha minst {MIN_PASSWORD_LENGTH} tecken. Ett bra sätt är några ord i följd, till exempel en mening du minns."
        ));
    }
    // zxcvbn knows the most common passwords, names and keyboard patterns, and is told the
    // address so that a password made from it counts as weak.
    let local = email.split('@').next().unwrap_or_default();
    let estimate = zxcvbn::zxcvbn(password, &[email, local]);
    if (estimate.score() as u8) < 3 {
        return Some(
            "Lösenordet är för lätt att gissa: det liknar vanliga lösenord, ord eller mönster. Välj ett längre eller ovanligare."
                .into(),
        );
    }
    None
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

pub fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// How long an account must wait before the next attempt after `failures` failures in a row,
/// the last at `last_failed_at`: nothing for the first few, then a doubling wait up to 15 minutes.
pub fn login_wait(failures: i64, last_failed_at: Option<i64>, now: i64) -> Option<i64> {
    if failures < FREE_FAILURES {
        return None;
    }
    let wait = (FIRST_WAIT_SECONDS << (failures - FREE_FAILURES).min(5)).min(15 * 60);
    let until = last_failed_at.unwrap_or(0) + wait;
    (until > now).then_some(until - now)
}

/// Whether a session last seen at `seen` has lapsed at `now`.
pub fn session_lapsed(seen: i64, now: i64, idle_minutes: u64) -> bool {
    now - seen > (idle_minutes as i64) * 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_common_passwords_are_refused_with_a_reason() {
        assert!(password_problem("kort", "a@b.se").unwrap().contains("minst 12"));
        assert!(password_problem("password1234", "a@b.se").unwrap().contains("för lätt"));
        assert!(password_problem("qwertyuiop123", "a@b.se").unwrap().contains("för lätt"));
        assert!(password_problem("anna.berg.2027", "anna.berg@stad.se").is_some());
        assert_eq!(password_problem("grön cykel vid sjön Mälaren", "a@b.se"), None);
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("grön cykel vid sjön").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches("grön cykel vid sjön", &h));
        assert!(!password_matches("grön cykel vid sjö", &h));
        assert!(!password_matches("x", "not a hash"));
    }

    #[test]
    fn failed_logins_wait_longer_and_longer() {
        assert_eq!(login_wait(4, Some(100), 100), None);
        assert_eq!(login_wait(5, Some(100), 100), Some(30));
        assert_eq!(login_wait(5, Some(100), 131), None);
        assert_eq!(login_wait(6, Some(100), 100), Some(60));
        assert_eq!(login_wait(50, Some(100), 100), Some(15 * 60));
    }

    #[test]
    fn a_session_lapses_after_the_idle_time() {
        assert!(!session_lapsed(1000, 1000 + 30 * 60, 30));
        assert!(session_lapsed(1000, 1001 + 30 * 60, 30));
    }
}
