//! `user add`, `user link` and `user list`.

use super::UserCommand;
use crate::address::EmailAddress;
use crate::config::Settings;
use crate::coordinator::{self, Actor};
use crate::store::Store;
use anyhow::Context;

pub async fn run(settings: &Settings, store: &Store, command: UserCommand) -> anyhow::Result<()> {
    let link =
        |token: &crate::token::Token| format!("{}/admin/losenord/{token}", settings.base_url.trim_end_matches('/'));
    let actor = Actor::command_line();
    match command {
        UserCommand::Add { role, email } => {
            let (account, token) = coordinator::add_account(store, &actor, &email, role).await?;
            println!(
                "Kontot {} ({}) är skapat. Lösenordet väljs på den här länken, som fungerar en gång och i {} dagar:",
                account.email,
                role.swedish(),
                crate::account::PASSWORD_LINK_DAYS
            );
            println!("  {}", link(&token));
        }
        UserCommand::Link { email } => {
            let address = EmailAddress::parse(&email)?;
            let account = store
                .account_by_email(&address)
                .await?
                .with_context(|| format!("det finns inget konto för {email}"))?;
            let token = coordinator::new_password_link(store, &actor, &account).await?;
            println!("Ny lösenordslänk för {} (tidigare länkar slutar fungera):", account.email);
            println!("  {}", link(&token));
        }
        UserCommand::List => {
            for a in store.accounts().await? {
                let status = if a.disabled {
                    "avstängt"
                } else if a.has_password {
                    "aktivt"
                } else {
                    "inget lösenord än"
                };
                println!("{}\t{}\t{status}", a.email, a.role.swedish());
            }
        }
    }
    Ok(())
}
