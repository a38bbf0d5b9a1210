//! Accounts of the admin pages: adding one, disabling and re-enabling, password links.

use super::{Actor, Error, Outcome};
use crate::account::{self, Account, Role};
use crate::address::EmailAddress;
use crate::audit::Entry;
use crate::store::Store;
use crate::token::Token;

/// Adds an account without a password; returns it with the token of its one-time link.
pub async fn add_account(store: &Store, actor: &Actor, email: &str, role: Role) -> Outcome<(Account, Token)> {
    let email = EmailAddress::parse(email)
        .map_err(|_| Error::invalid("email", format!("”{}” är inte en e-postadress.", crate::text::shown(email))))?;
    let mut tx = store.begin().await?;
    let Some((account, token)) = tx.create_account(&email, role).await? else {
        return Err(Error::AccountExists(email.to_string()));
    };
    tx.audit(&actor.entry("lade till konto").detail(format!("{} ({})", account.email, role.swedish()))).await?;
    tx.commit().await?;
    Ok((account, token))
}

/// Disables (ending its sessions) or re-enables an account. The last enabled coordinator
/// cannot be disabled: nobody would be left to enable anyone.
pub async fn set_account_disabled(store: &Store, actor: &Actor, id: i64, disabled: bool) -> Outcome<Account> {
    let mut tx = store.begin().await?;
    if disabled {
        let active = tx.active_coordinators().await?;
        if active == [id] {
            return Err(Error::LastCoordinator);
        }
    }
    let account = tx.set_account_disabled(id, disabled).await?.ok_or(Error::NoSuchAccount)?;
    let what = if disabled { "stängde av konto" } else { "aktiverade konto" };
    tx.audit(&actor.entry(what).detail(account.email.clone())).await?;
    tx.commit().await?;
    Ok(account)
}

/// A new one-time link to choose the account's password; earlier links stop working.
pub async fn new_password_link(store: &Store, actor: &Actor, account: &Account) -> Outcome<Token> {
    let mut tx = store.begin().await?;
    let token = tx.new_password_link(account.id).await?;
    tx.audit(&actor.entry("skapade lösenordslänk").detail(account.email.clone())).await?;
    tx.commit().await?;
    Ok(token)
}

/// Sets a password through its one-time link, after the password policy.
pub async fn set_password(store: &Store, token: &Token, password: &str, again: &str) -> Outcome<Account> {
    let Some(account) = store.account_by_password_link(token).await? else {
        return Err(Error::PasswordLinkNotValid);
    };
    if password != again {
        return Err(Error::invalid(
            "password",
            "De två lösenorden är inte likadana. Skriv samma lösenord i båda fälten.",
        ));
    }
    if let Some(problem) = account::password_problem(password, &account.email) {
        return Err(Error::invalid("password", problem));
    }
    let password = password.to_string();
    let hash =
        tokio::task::spawn_blocking(move || account::hash_password(&password)).await.map_err(anyhow::Error::from)??;
    let mut tx = store.begin().await?;
    let account = tx.set_password_by_link(token, &hash).await?.ok_or(Error::PasswordLinkNotValid)?;
    tx.audit(&Entry::new(&account.email, "valde lösenord")).await?;
    tx.commit().await?;
    Ok(account)
}

/// What the identity provider said of the person signing in, its ID token checked.
#[derive(Debug, Clone)]
pub struct ProviderClaims {
    pub email: Option<String>,
    pub email_verified: bool,
    /// The role its groups or roles grant here (`account::RoleMapping`), if any.
    pub role: Option<Role>,
}

/// Signs a person in through the identity provider: their account is the one of their
/// verified address, made on first sign-in when the provider grants a role. The provider's
/// groups decide the role each time; a disabled account stays refused.
pub async fn sign_in_through_provider(store: &Store, claims: ProviderClaims) -> Outcome<Account> {
    let email = match claims.email.as_deref().map(EmailAddress::parse) {
        Some(Ok(email)) if claims.email_verified => email,
        _ => return Err(Error::ProviderEmailNotVerified),
    };
    let Some(role) = claims.role else {
        return Err(Error::NoRoleFromProvider(email.to_string()));
    };
    let actor = Actor::account(email.as_str());
    let mut tx = store.begin().await?;
    let account = match store.account_by_email(&email).await? {
        Some(a) if a.disabled => return Err(Error::AccountDisabled(a.email)),
        Some(mut a) => {
            if a.role != role {
                tx.set_account_role(a.id, role).await?;
                tx.audit(&actor.entry("fick ny roll från identitetsleverantören").detail(format!(
                    "{} (var {})",
                    role.swedish(),
                    a.role.swedish()
                )))
                .await?;
                a.role = role;
            }
            a
        }
        None => {
            // Another sign-in of the same person may have made it a moment ago.
            let Some(a) = tx.create_provider_account(&email, role).await? else {
                return Err(Error::Technical(anyhow::anyhow!(
                    "the account was created at the same moment; sign in again"
                )));
            };
            tx.audit(
                &actor
                    .entry("kontot skapades vid inloggning via identitetsleverantören")
                    .detail(format!("{email} ({})", role.swedish())),
            )
            .await?;
            a
        }
    };
    tx.audit(&actor.entry("loggade in via identitetsleverantören")).await?;
    tx.commit().await?;
    Ok(account)
}

/// Saves the district's part of the accessibility statement.
pub async fn save_accessibility_statement(
    store: &Store,
    actor: &Actor,
    statement: &crate::statement::Statement,
) -> Outcome<()> {
    let mut tx = store.begin().await?;
    tx.set_accessibility_statement(statement).await?;
    tx.audit(&actor.entry("ändrade tillgänglighetsredogörelsen").detail(format!("granskad {}", statement.reviewed_on)))
        .await?;
    tx.commit().await?;
    Ok(())
}
