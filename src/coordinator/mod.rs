//! What a coordinator does, shared by the command line and the admin pages: create a round,
//! import its roster, mint links, queue invitations and reminders, remove a recipient, save
//! the round's emails, change its dates, manage accounts.
//!
//! Each use case takes parsed, typed input, checks the rules it owns (here and nowhere else),
//! and commits its writes with their audit entry in one transaction. It answers with a
//! typed `Error`: the web shows it as a Swedish page or a message at the form's field, the
//! command line as a sentence and an exit code.

mod accounts;
mod gallring;
mod incidents;
mod mail;
mod roster;
mod rounds;

pub use accounts::{
    ProviderClaims, add_account, new_password_link, save_accessibility_statement, set_account_disabled, set_password,
    sign_in_through_provider,
};
pub use gallring::{When, describe_rule, gallra, gallra_due, gallra_incident_texts, set_gallring_rule};
pub use incidents::{
    NotFiled, create_report_link, erase_incident_text, file_incident, finalise_year, mark_incident, remove_source,
    revoke_report_link, save_source,
};
pub use mail::{MailChanges, Sending, describe_schedule, due, mail_out_ends, queue_sending, save_round_mail};
pub use roster::{import_roster, links, parse_roster, remove_recipient, write_links};
pub use rounds::{DateChange, NewRound, change_dates, create_round, round_problems};

use crate::audit::Entry;
use crate::round::Round;
use crate::store::Store;

/// Who acts: an account of the admin pages, or the operator on the command line.
#[derive(Debug, Clone)]
pub struct Actor(String);

impl Actor {
    pub fn account(email: &str) -> Actor {
        Actor(email.to_string())
    }

    pub fn command_line() -> Actor {
        Actor(Entry::command_line_actor())
    }

    /// The server itself, doing what a rule calls for.
    pub fn named(name: &str) -> Actor {
        Actor(name.to_string())
    }

    fn entry(&self, action: &str) -> Entry {
        Entry::new(&self.0, action)
    }
}

/// A form field a problem belongs to, by the name the admin pages give it.
pub type Field = &'static str;

/// Why a use case refused, in a Swedish sentence a coordinator can act on. Nothing was
/// changed when one of these comes back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Det finns ingen omgång som heter {key} (omgångar: {}).", if .known.is_empty() { "inga ännu".to_string() } else { .known.join(", ") })]
    NoSuchRound { key: String, known: Vec<String> },
    /// One or more fields are wrong; each problem names its field.
    #[error("{}", .0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" "))]
    Invalid(Vec<(Field, String)>),
    #[error(
        "Omgången {key} stängde {closed}, så inga e-postmeddelanden skickades. Förläng omgången först om fler ska kunna svara."
    )]
    RoundClosed { key: String, closed: String },
    #[error("{file}: inget importerades, {} rad(er) har fel:\n{}", .problems.len(), .problems.join("\n"))]
    RosterProblems { file: String, problems: Vec<String> },
    #[error("Filen finns inte kvar (den är redan importerad eller äldre än ett dygn). Ladda upp den igen.")]
    UploadGone,
    #[error("{0} finns inte på mottagarlistan; inget ändrades.")]
    NotOnRoster(String),
    #[error(
        "{0} har redan svarat och kan inte tas bort: svaret är anonymt och ingår i svarsfrekvensen. Inget ändrades."
    )]
    AlreadyAnswered(String),
    #[error("Ett e-postmeddelande till {0} skickas just nu. Försök igen om en minut; inget ändrades.")]
    BeingSent(String),
    #[error(
        "Omgången {key} gallrades {on}: mottagarnas namn, adresser och länkar finns inte längre, så det går inte att skicka, skapa länkar, ändra mottagare eller öppna omgången igen. Svaren och siffrorna finns kvar."
    )]
    Erased { key: String, on: String },
    #[error("Det finns redan ett konto för {0}.")]
    AccountExists(String),
    #[error(
        "Identitetsleverantören har inte bekräftat din e-postadress, så du kan inte loggas in här. Kontakta IT-supporten."
    )]
    ProviderEmailNotVerified,
    #[error(
        "Ditt konto i organisationen ({0}) ger ingen behörighet till lägesbilden. Be IT-supporten lägga dig i gruppen för samordnare eller analytiker."
    )]
    NoRoleFromProvider(String),
    #[error("Kontot {0} är avstängt. Be en samordnare att aktivera det.")]
    AccountDisabled(String),
    #[error("Kontot finns inte.")]
    NoSuchAccount,
    #[error("det sista aktiva samordnarkontot kan inte stängas av: då kan ingen längre aktivera konton.")]
    LastCoordinator,
    #[error(
        "Länken för att välja lösenord är redan använd, för gammal eller felaktig. Be en samordnare om en ny länk."
    )]
    PasswordLinkNotValid,
    #[error("Rapportlänken finns inte eller är redan spärrad.")]
    NoSuchReportLink,
    #[error("Det finns ingen incidentrapport med nummer {0}.")]
    NoSuchIncident(i64),
    #[error("Källan finns inte (den kan ha tagits bort).")]
    NoSuchSource,
    #[error(
        "Lägesbilden för {0} är fastställd, så dess källor kan inte ändras. En samordnare kan öppna den för ändringar igen."
    )]
    YearFinalised(i64),
    /// A technical failure (the database, a file): logged in English, nothing was changed.
    #[error("tekniskt fel: {0:#}")]
    Technical(#[from] anyhow::Error),
}

impl Error {
    fn invalid(field: Field, message: impl Into<String>) -> Error {
        Error::Invalid(vec![(field, message.into())])
    }

    /// The command line's exit code: 2 for input to correct, 1 for a technical failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Technical(_) => 1,
            _ => 2,
        }
    }
}

pub type Outcome<T> = Result<T, Error>;

/// The round of that key, or an error listing the rounds there are.
pub async fn find_round(store: &Store, key: &str) -> Outcome<Round> {
    match store.round(key).await? {
        Some(r) => Ok(r),
        None => {
            let known = store.rounds().await?.into_iter().map(|r| r.round.key).collect();
            Err(Error::NoSuchRound { key: key.to_string(), known })
        }
    }
}
