//! Accounts of the admin pages: roles, the password policy, password hashing and the brake
//! on guessed passwords. `store::accounts` holds the rows.

use crate::address::EmailAddress;
pub use crate::store::Account;
use crate::store::{LoginAttempt, Store};

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

/// Which claim of the identity provider names a person's groups or roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleClaim {
    /// `groups` (Keycloak, Azure AD's group claim, most providers).
    Groups,
    /// `roles` (Azure AD's app roles).
    Roles,
}

/// Which values of the claim give which role here.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    pub claim: RoleClaim,
    pub coordinators: Vec<String>,
    pub analysts: Vec<String>,
}

impl RoleMapping {
    /// The role the provider's values grant: coordinator before analyst; `None` when neither.
    pub fn role(&self, values: &[String]) -> Option<Role> {
        let has = |wanted: &[String]| values.iter().any(|v| wanted.contains(v));
        if has(&self.coordinators) {
            Some(Role::Coordinator)
        } else if has(&self.analysts) {
            Some(Role::Analyst)
        } else {
            None
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

/// How long the next attempt must wait after a failed login that made `failures` failures
/// in a row: nothing for the first few, then a doubling wait up to 15 minutes.
pub fn brake_after(failures: i64) -> Option<i64> {
    (failures >= FREE_FAILURES).then(|| (FIRST_WAIT_SECONDS << (failures - FREE_FAILURES).min(5)).min(15 * 60))
}

#[derive(Debug)]
pub enum LoginOutcome {
    LoggedIn(Account),
    /// Wrong password, no password yet or a disabled account.
    Refused,
    /// No account has this address. The pages answer it exactly as `Refused` (and brake it
    /// the same way), so that a guesser learns nothing about which addresses have accounts.
    Unknown,
    /// Too many failures in a row on this account: try again after this many seconds.
    Wait(i64),
}

/// A hash to check a password against when the address has no account, so that an unknown
/// address takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").expect("argon2 hashes"))
}

/// Checks a password off the async threads: argon2 is meant to take a while. Without a
/// stored hash the decoy is checked, so that the answer takes as long.
async fn checked(password: &str, stored: Option<String>) -> anyhow::Result<bool> {
    let password = password.to_string();
    Ok(tokio::task::spawn_blocking(move || match stored {
        Some(hash) => password_matches(&password, &hash),
        None => {
            password_matches(&password, decoy_hash());
            false
        }
    })
    .await?)
}

/// Checks a login. The attempt is reserved (and counted as a failure) in one statement
/// before the password is checked, so the brake holds however many attempts run at once,
/// on every server instance sharing the database.
pub async fn login(store: &Store, email: &str, password: &str) -> anyhow::Result<LoginOutcome> {
    let Ok(email) = EmailAddress::parse(email) else {
        checked(password, None).await?;
        return Ok(LoginOutcome::Unknown);
    };
    let account = match store.reserve_login(&email, FREE_FAILURES).await? {
        LoginAttempt::Unknown => {
            checked(password, None).await?;
            return Ok(LoginOutcome::Unknown);
        }
        LoginAttempt::Braked { wait } => {
            // As long as a check would take: the answer's timing says nothing either. A
            // brake not yet set means attempts are still being checked: the first wait.
            checked(password, None).await?;
            return Ok(LoginOutcome::Wait(if wait > 0 { wait } else { FIRST_WAIT_SECONDS }));
        }
        LoginAttempt::Reserved(account) => account,
    };
    let right = checked(password, account.password_hash.clone()).await? && !account.disabled;
    let braked_until = if right { None } else { brake_after(account.failed_logins).map(|w| now() + w) };
    store.login_settled(account.id, right, braked_until).await?;
    Ok(if right { LoginOutcome::LoggedIn(account) } else { LoginOutcome::Refused })
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Whether a session last seen at `seen` has lapsed at `now`.
pub fn session_lapsed(seen: i64, now: i64, idle_minutes: u64) -> bool {
    now - seen > (idle_minutes as i64) * 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_providers_groups_grant_the_highest_role_they_name() {
        let mapping = RoleMapping {
            claim: RoleClaim::Groups,
            coordinators: vec!["lagesbild-samordnare".into()],
            analysts: vec!["lagesbild-analytiker".into()],
        };
        let groups = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(mapping.role(&groups(&["alla", "lagesbild-analytiker"])), Some(Role::Analyst));
        assert_eq!(mapping.role(&groups(&["lagesbild-analytiker", "lagesbild-samordnare"])), Some(Role::Coordinator));
        assert_eq!(mapping.role(&groups(&["alla", "Lagesbild-samordnare"])), None, "values are matched exactly");
        assert_eq!(mapping.role(&[]), None);
    }

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
        assert_eq!(brake_after(4), None);
        assert_eq!(brake_after(5), Some(30));
        assert_eq!(brake_after(6), Some(60));
        assert_eq!(brake_after(7), Some(120));
        assert_eq!(brake_after(50), Some(15 * 60));
    }

    #[test]
    fn a_session_lapses_after_the_idle_time() {
        assert!(!session_lapsed(1000, 1000 + 30 * 60, 30));
        assert!(session_lapsed(1000, 1001 + 30 * 60, 30));
    }
}
