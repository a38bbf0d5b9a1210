//! The roster: importing a file, taking a recipient off, minting personal links.

use super::{Actor, Error, Outcome};
use crate::address::EmailAddress;
use crate::roster::{self, RosterRow};
use crate::round::Round;
use crate::store::{ImportOutcome, MintedLink, Removal, Store};

/// Checks a roster file against the round's groups; every bad row is listed by line.
pub fn parse_roster(round: &Round, bytes: &[u8]) -> Result<Vec<RosterRow>, Vec<String>> {
    let survey = crate::analysis::survey_of(round).map_err(|e| vec![format!("{e:#}")])?;
    roster::parse(bytes, &survey).map_err(|p| p.iter().map(ToString::to_string).collect())
}

/// Imports a roster file: nothing if any row is bad. `upload` is the file kept between the
/// admin pages' preview and confirmation, dropped in the same transaction.
pub async fn import_roster(
    store: &Store,
    actor: &Actor,
    round: &Round,
    file_name: &str,
    bytes: &[u8],
    upload: Option<i64>,
    progress: &dyn Fn(usize),
) -> Outcome<ImportOutcome> {
    super::gallring::refuse_if_erased(store, round).await?;
    let rows = parse_roster(round, bytes)
        .map_err(|problems| Error::RosterProblems { file: file_name.to_string(), problems })?;
    let mut tx = store.begin().await?;
    let outcome = tx.import_roster(round.id, &rows, progress).await?;
    if let Some(id) = upload {
        tx.forget_roster_upload(id).await?;
    }
    tx.audit(
        &actor
            .entry("importerade mottagare")
            .round(&round.key)
            .recipients(outcome.added)
            .detail(format!("{file_name}: {} nya, {} fanns redan", outcome.added, outcome.already_present)),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Takes a recipient who has not answered off the roster (an address imported by mistake):
/// their links stop working, their draft and queued emails go.
pub async fn remove_recipient(store: &Store, actor: &Actor, round: &Round, email: &str) -> Outcome<()> {
    super::gallring::refuse_if_erased(store, round).await?;
    let address = EmailAddress::parse(email).map_err(|_| Error::NotOnRoster(crate::text::shown(email)))?;
    let mut tx = store.begin().await?;
    match tx.remove_recipient(round.id, &address).await? {
        Removal::Removed => {}
        Removal::NotFound => return Err(Error::NotOnRoster(address.to_string())),
        Removal::Answered => return Err(Error::AlreadyAnswered(address.to_string())),
        Removal::Sending => return Err(Error::BeingSent(address.to_string())),
    }
    tx.audit(&actor.entry("tog bort mottagare").round(&round.key).recipients(1).detail(address.to_string())).await?;
    tx.commit().await?;
    Ok(())
}

/// Mints a new personal link per recipient (only those who have not answered, when
/// `pending`), for a mail merge. Links handed out earlier keep working.
pub async fn links(store: &Store, actor: &Actor, round: &Round, pending: bool) -> Outcome<Vec<MintedLink>> {
    super::gallring::refuse_if_erased(store, round).await?;
    let mut tx = store.begin().await?;
    let links = tx.mint_links(round.id, pending).await?;
    tx.audit(
        &actor.entry("laddade ner personliga länkar").round(&round.key).recipients(links.len()).detail(if pending {
            "bara de som inte har svarat"
        } else {
            "alla mottagare"
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(links)
}

/// The links file for a mail merge: `email,name,organisation,link`, one row per recipient.
pub fn write_links(
    out: impl std::io::Write,
    links: &[MintedLink],
    link: impl Fn(&crate::token::Token) -> String,
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["email", "name", "organisation", "link"])?;
    for l in links {
        let cells = [
            crate::export::neutralise(&l.email).into_owned(),
            crate::export::neutralise(&l.name).into_owned(),
            crate::export::neutralise(&l.organisation).into_owned(),
            link(&l.token),
        ];
        w.write_record(cells)?;
    }
    w.flush()?;
    Ok(())
}
