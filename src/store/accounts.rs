//! Accounts of the admin pages: creating them, password links, disabling, the sessions'
//! cut-off, and the login brake's counter.

use super::{Store, Tx, now};
use crate::account::{PASSWORD_LINK_DAYS, Role};
use crate::address::EmailAddress;
use crate::token::{self, Token};
use sqlx::AssertSqlSafe;

/// Sessions are ordered to the millisecond: a logout and a login in the same second must not tie.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub has_password: bool,
    pub disabled: bool,
    /// The argon2 hash to check a password against; `None` until one is chosen.
    pub password_hash: Option<String>,
    /// Failed logins in a row, the attempt being checked included (see `LoginAttempt`).
    pub failed_logins: i64,
    /// Sessions begun before this moment (Unix milliseconds) are no longer valid.
    pub sessions_after: i64,
}

const COLUMNS: &str = "id, email, role, password_hash, disabled, failed_logins, sessions_after";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    email: String,
    role: String,
    password_hash: Option<String>,
    disabled: i64,
    failed_logins: i64,
    sessions_after: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = anyhow::Error;
    fn try_from(r: AccountRow) -> anyhow::Result<Account> {
        Ok(Account {
            id: r.id,
            email: r.email,
            role: r.role.parse().map_err(anyhow::Error::msg)?,
            has_password: r.password_hash.is_some(),
            disabled: r.disabled != 0,
            password_hash: r.password_hash,
            failed_logins: r.failed_logins,
            sessions_after: r.sessions_after,
        })
    }
}

fn account(row: Option<AccountRow>) -> anyhow::Result<Option<Account>> {
    row.map(Account::try_from).transpose()
}

/// What reserving a login attempt found.
#[derive(Debug)]
pub enum LoginAttempt {
    /// The attempt is counted as a failure in advance and may check its password.
    Reserved(Account),
    /// The account is braked: no password is checked until this many seconds have passed.
    Braked { wait: i64 },
    /// No account has this address.
    Unknown,
}

impl Tx {
    /// Creates an account without a password and returns it with a one-time link token to
    /// set one; `None` if the address has an account already.
    pub async fn create_account(
        &mut self,
        email: &EmailAddress,
        role: Role,
    ) -> anyhow::Result<Option<(Account, Token)>> {
        let (token, hash) = token::mint();
        let account = self.insert_account(email, role, Some((&hash, now() + PASSWORD_LINK_DAYS * 24 * 3600))).await?;
        Ok(account.map(|a| (a, token)))
    }

    /// Creates an account that signs in through the identity provider: no password, no link.
    pub async fn create_provider_account(
        &mut self,
        email: &EmailAddress,
        role: Role,
    ) -> anyhow::Result<Option<Account>> {
        self.insert_account(email, role, None).await
    }

    async fn insert_account(
        &mut self,
        email: &EmailAddress,
        role: Role,
        link: Option<(&str, i64)>,
    ) -> anyhow::Result<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(AssertSqlSafe(format!(
            "INSERT INTO accounts (email, role, password_link_hash, password_link_until, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING {COLUMNS}"
        )))
        .bind(email.as_str())
        .bind(role.as_str())
        .bind(link.map(|(hash, _)| hash.to_string()))
        .bind(link.map(|(_, until)| until))
        .bind(now())
        .fetch_optional(&mut *self.tx)
        .await?;
        account(row)
    }

    /// Gives the account the role the identity provider grants it now.
    pub async fn set_account_role(&mut self, id: i64, role: Role) -> anyhow::Result<()> {
        sqlx::query("UPDATE accounts SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A new one-time link to set the account's password; earlier links stop working.
    pub async fn new_password_link(&mut self, account_id: i64) -> anyhow::Result<Token> {
        let (token, hash) = token::mint();
        sqlx::query("UPDATE accounts SET password_link_hash = $1, password_link_until = $2 WHERE id = $3")
            .bind(&hash)
            .bind(now() + PASSWORD_LINK_DAYS * 24 * 3600)
            .bind(account_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(token)
    }

    /// Sets the password through a one-time link, which is used up; `None` if the link is not valid.
    pub async fn set_password_by_link(
        &mut self,
        token: &Token,
        password_hash: &str,
    ) -> anyhow::Result<Option<Account>> {
        let row = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE accounts SET password_hash = $1, password_link_hash = NULL, password_link_until = NULL,
                    failed_logins = 0, last_failed_at = NULL, braked_until = NULL, sessions_after = $4
             WHERE password_link_hash = $2 AND password_link_until >= $3 AND disabled = 0 RETURNING {COLUMNS}"
        )))
        .bind(password_hash)
        .bind(token.hash())
        .bind(now())
        .bind(now_ms())
        .fetch_optional(&mut *self.tx)
        .await?;
        account(row)
    }

    /// The enabled coordinators, locked until the action ends: two coordinators disabling
    /// each other at once cannot both see the other as still enabled.
    pub async fn active_coordinators(&mut self) -> anyhow::Result<Vec<i64>> {
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM accounts WHERE role = 'coordinator' AND disabled = 0 ORDER BY id{}",
            self.engine.lock_rows()
        )))
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// Disables (ending its sessions) or re-enables an account; `None` if there is none.
    pub async fn set_account_disabled(&mut self, id: i64, disabled: bool) -> anyhow::Result<Option<Account>> {
        let row = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE accounts SET disabled = $1, failed_logins = 0, last_failed_at = NULL, braked_until = NULL,
                    sessions_after = CASE WHEN $1 = 1 THEN $3 ELSE sessions_after END
             WHERE id = $2 RETURNING {COLUMNS}"
        )))
        .bind(i64::from(disabled))
        .bind(id)
        .bind(now_ms())
        .fetch_optional(&mut *self.tx)
        .await?;
        account(row)
    }
}

impl Store {
    /// The account a one-time link belongs to, if the link is still valid.
    pub async fn account_by_password_link(&self, token: &Token) -> anyhow::Result<Option<Account>> {
        let row = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM accounts WHERE password_link_hash = $1 AND password_link_until >= $2 AND disabled = 0"
        )))
        .bind(token.hash())
        .bind(now())
        .fetch_optional(&self.read)
        .await?;
        account(row)
    }

    pub async fn account(&self, id: i64) -> anyhow::Result<Option<Account>> {
        let row = sqlx::query_as(AssertSqlSafe(format!("SELECT {COLUMNS} FROM accounts WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        account(row)
    }

    pub async fn account_by_email(&self, email: &EmailAddress) -> anyhow::Result<Option<Account>> {
        let row = sqlx::query_as(AssertSqlSafe(format!("SELECT {COLUMNS} FROM accounts WHERE email = $1")))
            .bind(email.as_str())
            .fetch_optional(&self.read)
            .await?;
        account(row)
    }

    pub async fn accounts(&self) -> anyhow::Result<Vec<Account>> {
        let rows: Vec<AccountRow> =
            sqlx::query_as(AssertSqlSafe(format!("SELECT {COLUMNS} FROM accounts ORDER BY email")))
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(Account::try_from).collect()
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

    /// Reserves a login attempt in one statement: the first `free` failures in a row pass,
    /// after that only attempts after the brake's end. A reserved attempt is counted as a
    /// failure at once, so attempts fired in parallel meet the brake as if they came in a
    /// row; `login_settled` resets the count when the password was right.
    pub async fn reserve_login(&self, email: &EmailAddress, free: i64) -> anyhow::Result<LoginAttempt> {
        let now = now();
        let row = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE accounts SET failed_logins = failed_logins + 1
             WHERE email = $1 AND (failed_logins < $2 OR braked_until <= $3) RETURNING {COLUMNS}"
        )))
        .bind(email.as_str())
        .bind(free)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        if let Some(account) = account(row)? {
            return Ok(LoginAttempt::Reserved(account));
        }
        let braked: Option<Option<i64>> = sqlx::query_scalar("SELECT braked_until FROM accounts WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.read)
            .await?;
        Ok(match braked {
            None => LoginAttempt::Unknown,
            Some(until) => LoginAttempt::Braked { wait: until.map_or(0, |u| u - now) },
        })
    }

    /// Settles a reserved attempt: a right password clears the count and the brake; a wrong
    /// one that ends the free failures brakes the account until `braked_until` (or keeps a
    /// later end set by a parallel attempt).
    pub async fn login_settled(&self, id: i64, right: bool, braked_until: Option<i64>) -> anyhow::Result<()> {
        let query = match (right, braked_until) {
            (true, _) => sqlx::query(
                "UPDATE accounts SET failed_logins = 0, last_failed_at = NULL, braked_until = NULL WHERE id = $1",
            )
            .bind(id),
            (false, None) => sqlx::query("UPDATE accounts SET last_failed_at = $2 WHERE id = $1").bind(id).bind(now()),
            (false, Some(until)) => sqlx::query(
                "UPDATE accounts SET last_failed_at = $2,
                        braked_until = CASE WHEN braked_until IS NULL OR braked_until < $3 THEN $3 ELSE braked_until END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(now())
            .bind(until),
        };
        query.execute(&self.write).await?;
        Ok(())
    }
}
