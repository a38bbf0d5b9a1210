//! The accounts' SQL, on both engines.

use super::{PASSWORD_LINK_DAYS, Role, hash_password, login_wait, password_matches};
use crate::store::Store;
use crate::token;
use anyhow::bail;
use sqlx::Row;
use sqlx::any::AnyRow;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Sessions are ordered to the millisecond: a logout and a login in the same second must not tie.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub has_password: bool,
    pub disabled: bool,
    #[serde(skip)]
    password_hash: Option<String>,
    #[serde(skip)]
    failed_logins: i64,
    #[serde(skip)]
    last_failed_at: Option<i64>,
    /// Sessions begun before this moment (Unix milliseconds) are no longer valid.
    #[serde(skip)]
    pub sessions_after: i64,
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

const COLUMNS: &str = "id, email, role, password_hash, disabled, failed_logins, last_failed_at, sessions_after";

fn account_from(row: &AnyRow) -> anyhow::Result<Account> {
    let role: String = row.try_get("role")?;
    let password_hash: Option<String> = row.try_get("password_hash")?;
    Ok(Account {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role `{role}` in accounts"))?,
        has_password: password_hash.is_some(),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        password_hash,
        failed_logins: row.try_get("failed_logins")?,
        last_failed_at: row.try_get("last_failed_at")?,
        sessions_after: row.try_get("sessions_after")?,
    })
}

/// A hash to check a password against when the address has no account, so that an unknown
/// address takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").expect("argon2 hashes"))
}

/// Checks a password off the async threads: argon2 is meant to take a while.
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

impl Store {
    /// Creates an account without a password and returns it with a one-time link token to set one.
    pub async fn create_account(&self, email: &str, role: Role) -> anyhow::Result<(Account, String)> {
        let email = email.trim().to_lowercase();
        if !email_address::EmailAddress::is_valid(&email) {
            bail!("`{email}` är inte en e-postadress");
        }
        let (token, hash) = token::mint();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO accounts (email, role, password_link_hash, password_link_until, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING {COLUMNS}"
        )))
        .bind(&email)
        .bind(role.as_str())
        .bind(&hash)
        .bind(now() + PASSWORD_LINK_DAYS * 24 * 3600)
        .bind(now())
        .fetch_optional(&self.write)
        .await?;
        match row {
            Some(row) => Ok((account_from(&row)?, token)),
            None => bail!("det finns redan ett konto för {email}"),
        }
    }

    /// A new one-time link to set the account's password; earlier links stop working.
    pub async fn new_password_link(&self, account_id: i64) -> anyhow::Result<String> {
        let (token, hash) = token::mint();
        sqlx::query("UPDATE accounts SET password_link_hash = $1, password_link_until = $2 WHERE id = $3")
            .bind(&hash)
            .bind(now() + PASSWORD_LINK_DAYS * 24 * 3600)
            .bind(account_id)
            .execute(&self.write)
            .await?;
        Ok(token)
    }

    /// The account a one-time link belongs to, if the link is still valid.
    pub async fn account_by_password_link(&self, token: &str) -> anyhow::Result<Option<Account>> {
        if !token::well_formed(token) {
            return Ok(None);
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM accounts WHERE password_link_hash = $1 AND password_link_until >= $2 AND disabled = 0"
        )))
        .bind(token::hash(token))
        .bind(now())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(account_from).transpose()
    }

    /// Sets the password through a one-time link, which is used up; `false` if the link is not valid.
    pub async fn set_password_by_link(&self, token: &str, password_hash: &str) -> anyhow::Result<Option<Account>> {
        if !token::well_formed(token) {
            return Ok(None);
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE accounts SET password_hash = $1, password_link_hash = NULL, password_link_until = NULL,
                    failed_logins = 0, last_failed_at = NULL, sessions_after = $4
             WHERE password_link_hash = $2 AND password_link_until >= $3 AND disabled = 0 RETURNING {COLUMNS}"
        )))
        .bind(password_hash)
        .bind(token::hash(token))
        .bind(now())
        .bind(now_ms())
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(account_from).transpose()
    }

    pub async fn account(&self, id: i64) -> anyhow::Result<Option<Account>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM accounts WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(account_from).transpose()
    }

    pub async fn account_by_email(&self, email: &str) -> anyhow::Result<Option<Account>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM accounts WHERE email = $1")))
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(account_from).transpose()
    }

    pub async fn accounts(&self) -> anyhow::Result<Vec<Account>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM accounts ORDER BY email")))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(account_from).collect()
    }

    /// Disables or re-enables an account. The last enabled coordinator cannot be disabled:
    /// nobody would be left to enable anyone.
    pub async fn set_account_disabled(&self, id: i64, disabled: bool) -> anyhow::Result<Account> {
        let mut tx = self.write.begin().await?;
        if disabled {
            // On PostgreSQL the active coordinators are locked, so that two coordinators
            // disabling each other at once cannot both pass this check.
            let lock = if self.engine == crate::store::Engine::Postgres { " FOR UPDATE" } else { "" };
            let active: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM accounts WHERE role = 'coordinator' AND disabled = 0 ORDER BY id{lock}"
            )))
            .fetch_all(&mut *tx)
            .await?;
            let others = active.iter().filter(|&&a| a != id).count();
            let is_coordinator: Option<String> =
                sqlx::query_scalar("SELECT role FROM accounts WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            if is_coordinator.as_deref() == Some("coordinator") && others == 0 {
                bail!("det sista aktiva samordnarkontot kan inte stängas av");
            }
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE accounts SET disabled = $1, failed_logins = 0, last_failed_at = NULL,
                    sessions_after = CASE WHEN $1 = 1 THEN $3 ELSE sessions_after END
             WHERE id = $2 RETURNING {COLUMNS}"
        )))
        .bind(i64::from(disabled))
        .bind(id)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        match row {
            Some(row) => account_from(&row),
            None => bail!("kontot finns inte"),
        }
    }

    /// Ends every session of the account begun before now: a cookie copied before logging
    /// out is worth nothing after.
    pub async fn end_sessions(&self, account_id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE accounts SET sessions_after = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(account_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Checks a login. Failures are counted per account in the database, so that every
    /// server instance applies the same brake.
    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<LoginOutcome> {
        let Some(account) = self.account_by_email(email).await? else {
            checked(password, None).await?;
            return Ok(LoginOutcome::Unknown);
        };
        let now = now();
        if let Some(wait) = login_wait(account.failed_logins, account.last_failed_at, now) {
            // As long as a check would take: the answer's timing says nothing either.
            checked(password, None).await?;
            return Ok(LoginOutcome::Wait(wait));
        }
        let good = checked(password, account.password_hash.clone()).await?;
        if !good || account.disabled {
            sqlx::query("UPDATE accounts SET failed_logins = failed_logins + 1, last_failed_at = $1 WHERE id = $2")
                .bind(now)
                .bind(account.id)
                .execute(&self.write)
                .await?;
            return Ok(LoginOutcome::Refused);
        }
        if account.failed_logins > 0 {
            sqlx::query("UPDATE accounts SET failed_logins = 0, last_failed_at = NULL WHERE id = $1")
                .bind(account.id)
                .execute(&self.write)
                .await?;
        }
        Ok(LoginOutcome::LoggedIn(account))
    }
}
