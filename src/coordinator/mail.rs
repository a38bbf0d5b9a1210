//! Emails: queueing invitations, reminders and failed emails again, and a round's own texts
//! and automatic reminders.

use super::{Actor, Error, Outcome};
use crate::outbox::letter::Letters;
use crate::outbox::{ReminderCutoff, RoundMail, format_schedule, parse_schedule};
use crate::round::{Phase, Round, swedish_date, today};
use crate::store::Store;
use lettre::message::Mailbox;

/// A sending the coordinator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// An invitation to everyone on the roster who has none and has not answered.
    Invitations,
    /// A reminder to those past the `ReminderCutoff` who have not answered.
    Reminders,
    /// Failed emails queued again (and, when asked, those whose sending was interrupted),
    /// after the coordinator fixed what made them fail.
    Retry { uncertain_too: bool },
}

impl Sending {
    fn action(self) -> &'static str {
        match self {
            Sending::Invitations => "skickade inbjudningar",
            Sending::Reminders => "skickade påminnelser",
            Sending::Retry { .. } => "skickade misslyckade igen",
        }
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// How many emails a sending would queue now.
pub async fn due(store: &Store, round: &Round, sending: Sending, min_days: u32) -> Outcome<usize> {
    Ok(match sending {
        Sending::Invitations => store.invitations_due(round.id).await?,
        Sending::Reminders => store.reminders_due(round.id, ReminderCutoff::by_hand(now(), min_days)).await?,
        Sending::Retry { uncertain_too } => store
            .mail_problems(round.id)
            .await?
            .iter()
            .filter(|p| match p.state {
                crate::outbox::OutboxState::Failed => true,
                crate::outbox::OutboxState::Uncertain => uncertain_too,
                _ => false,
            })
            .count(),
    })
}

/// Queues a sending, with its audit entry, and returns how many emails it queued and how
/// many recipients it left out. A closed round sends no invitations or reminders.
pub async fn queue_sending(
    store: &Store,
    actor: &Actor,
    round: &Round,
    sending: Sending,
    min_days: u32,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Outcome<(usize, usize)> {
    super::gallring::refuse_if_erased(store, round).await?;
    if round.phase(today()) == Phase::Closed && !matches!(sending, Sending::Retry { .. }) {
        return Err(Error::RoundClosed { key: round.key.clone(), closed: swedish_date(round.closes_on) });
    }
    let mut tx = store.begin().await?;
    let (queued, left_out) = match sending {
        Sending::Invitations => {
            let q = tx.queue_invitations(round.id, progress).await?;
            (q.queued, q.left_out)
        }
        Sending::Reminders => {
            let q = tx.queue_reminders(round.id, "", ReminderCutoff::by_hand(now(), min_days), progress).await?;
            (q.queued, q.left_out)
        }
        Sending::Retry { uncertain_too } => (tx.requeue(round.id, uncertain_too).await? as usize, 0),
    };
    tx.audit(&actor.entry(sending.action()).round(&round.key).recipients(queued)).await?;
    tx.commit().await?;
    Ok((queued, left_out))
}

/// Saves a round's texts and automatic reminders (`reminder_schedule` as the coordinator
/// wrote it). A text the templates cannot render is refused here, not when the emails go out.
pub async fn save_round_mail(
    store: &Store,
    actor: &Actor,
    round: &Round,
    letters: &Letters,
    sender: &Mailbox,
    mail: RoundMail,
) -> Outcome<RoundMail> {
    let steps = parse_schedule(&mail.reminder_schedule)
        .map_err(|e| Error::invalid("reminders", format!("Påminnelseschemat går inte att läsa: {e}.")))?;
    let mail = RoundMail { reminder_schedule: format_schedule(&steps), ..mail };
    letters.check(round, &mail, sender).map_err(|problem| Error::invalid("texts", problem))?;
    if mail == store.round_mail(round.id).await? {
        return Ok(mail);
    }
    let mut tx = store.begin().await?;
    tx.set_round_mail(round.id, &mail).await?;
    tx.audit(
        &actor
            .entry("ändrade e-posttexter och påminnelser")
            .round(&round.key)
            .detail(describe_schedule(&mail.reminder_schedule)),
    )
    .await?;
    tx.commit().await?;
    Ok(mail)
}

/// The schedule in words, for the coordinator.
pub fn describe_schedule(text: &str) -> String {
    let steps = parse_schedule(text).unwrap_or_default();
    if steps.is_empty() {
        return "Inga automatiska påminnelser.".into();
    }
    let parts: Vec<String> = steps
        .iter()
        .map(|s| match s {
            crate::outbox::ReminderStep::AfterInvitation(d) => format!("{d} dagar efter inbjudan"),
            crate::outbox::ReminderStep::BeforeClosing(d) => format!("{d} dagar före sista svarsdagen"),
        })
        .collect();
    format!("Automatiska påminnelser till dem som inte har svarat: {}.", parts.join(", "))
}

/// Changes to a round's emails as given on the command line; `Some("")` restores the
/// template's own text, `@FILE` reads a text from a file.
#[derive(Debug, Default)]
pub struct MailChanges {
    pub invitation_subject: Option<String>,
    pub invitation_text: Option<String>,
    pub reminder_subject: Option<String>,
    pub reminder_text: Option<String>,
    pub contact: Option<String>,
    pub reminders: Option<String>,
}

impl MailChanges {
    /// The round's emails with these changes made.
    pub fn apply(self, current: &RoundMail) -> anyhow::Result<RoundMail> {
        let text = |value: Option<String>, current: &Option<String>| -> anyhow::Result<Option<String>> {
            match value {
                None => Ok(current.clone()),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => match v.strip_prefix('@') {
                    Some(path) => {
                        Ok(Some(std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?))
                    }
                    None => Ok(Some(v)),
                },
            }
        };
        Ok(RoundMail {
            invitation_subject: text(self.invitation_subject, &current.invitation_subject)?,
            invitation_text: text(self.invitation_text, &current.invitation_text)?,
            reminder_subject: text(self.reminder_subject, &current.reminder_subject)?,
            reminder_text: text(self.reminder_text, &current.reminder_text)?,
            contact: text(self.contact, &current.contact)?,
            reminder_schedule: self.reminders.unwrap_or_else(|| current.reminder_schedule.clone()),
        })
    }
}

/// When the last email waiting now will go, at the relay's pace (`MAIL_PER_MINUTE`,
/// `MAIL_PER_DAY`), as a sentence for the dashboard and `round status`; `None` without a pace
/// or with nothing waiting. The pace is shared by every round, so all waiting emails count.
pub async fn mail_out_ends(store: &Store, pace: crate::outbox::pace::Pace) -> Outcome<Option<String>> {
    if !pace.is_set() {
        return Ok(None);
    }
    let (waiting, _) = store.outbox_pending(None).await?;
    let (recent, paused_until) = store.pace_history().await?;
    let Some(at) = pace.last_handover(waiting.max(0) as u64, &recent, paused_until, crate::store::now_ms()) else {
        return Ok(None);
    };
    let limits: Vec<String> = [(pace.per_minute, "i minuten"), (pace.per_day, "per dygn")]
        .iter()
        .filter_map(|(n, per)| n.map(|n| format!("högst {n} {per}")))
        .collect();
    Ok(Some(format!(
        "I e-postserverns takt ({}) går det sista av {waiting} väntande e-postmeddelanden (alla omgångar) i väg omkring {}.",
        limits.join(", "),
        crate::round::swedish_moment(at)
    )))
}
