//! The outbox: invitations and reminders queued as rows and delivered by a worker.
//!
//! This file holds the rules, as plain functions: when to retry, what counts as a permanent
//! failure, what a reminder schedule means and when each of its steps is due, and which
//! reminders a sending by hand may queue (`ReminderCutoff`). `store::outbox` holds the rows,
//! `letter` renders emails, `transport` delivers them and `worker` ties them together.
//!
//! Delivery guarantee: a row is claimed (state `sending`, committed) before it is handed to
//! SMTP and marked `sent` after the relay accepted it. Only `queued` rows are ever claimed, so
//! nothing is sent twice, by one process or several. A process killed while a row is in
//! `sending` leaves at most its in-flight emails (one per concurrent sender) behind; once
//! their claim expires they become `uncertain`, shown to the coordinator, and are not resent.
//! So does an email whose line to the relay broke after its data was handed over, before the
//! relay's reply (`relay`): the relay may have it.

pub mod letter;
pub mod pace;
pub mod relay;
pub mod transport;
pub mod worker;

use std::fmt;

/// The reason shown for an email whose sender died while handing it to the relay.
pub const INTERRUPTED: &str = "avbrutet under sändning – kontrollera innan omsändning";

/// Where an email is on its way. Stored as the lower-case English word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Queued,
    /// Claimed by a sender and being handed to the relay.
    Sending,
    Sent,
    Failed,
    /// The sender died while handing it over: it may have arrived, so it is not resent blindly.
    Uncertain,
    /// A reminder to someone who answered after it was queued.
    Skipped,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Uncertain => "uncertain",
            OutboxState::Skipped => "skipped",
        }
    }
}

impl std::str::FromStr for OutboxState {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<OutboxState> {
        Ok(match s {
            "queued" => OutboxState::Queued,
            "sending" => OutboxState::Sending,
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            "uncertain" => OutboxState::Uncertain,
            "skipped" => OutboxState::Skipped,
            _ => anyhow::bail!("unknown outbox state `{s}` in the database"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub queued: usize,
    /// Recipients left out: already invited (or reminded too recently), or already answered.
    pub left_out: usize,
}

/// An email claimed for sending, with a personal link minted for it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub round_id: i64,
    pub kind: Kind,
    pub attempts: u32,
    pub email: String,
    pub name: String,
    pub organisation: String,
    /// Shown once, in the email; only its hash is stored.
    pub token: crate::token::Token,
}

/// What the coordinator changed in a round's emails; `None` is the template's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundMail {
    pub invitation_subject: Option<String>,
    pub invitation_text: Option<String>,
    pub reminder_subject: Option<String>,
    pub reminder_text: Option<String>,
    pub contact: Option<String>,
    pub reminder_schedule: String,
}

impl RoundMail {
    /// The first problem in the coordinator's own subjects and texts, in Swedish: the one
    /// check for texts, wherever they are saved (a new round, the emails page).
    /// The first text with a placeholder that does not exist: its form field and the
    /// sentence, which names the text.
    pub fn texts_problem(&self) -> Option<(&'static str, String)> {
        [
            ("invitation_subject", "Ämne, inbjudan", &self.invitation_subject),
            ("invitation_text", "Text, inbjudan", &self.invitation_text),
            ("reminder_subject", "Ämne, påminnelse", &self.reminder_subject),
            ("reminder_text", "Text, påminnelse", &self.reminder_text),
        ]
        .into_iter()
        .find_map(|(field, name, text)| {
            text.as_deref().and_then(letter::placeholder_problem).map(|p| (field, format!("{name}: {p}")))
        })
    }
}

/// One line of a round's mail status: a group and category of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailStatus {
    pub group: String,
    pub category: String,
    pub recipients: i64,
    pub invited: i64,
    pub delivered: i64,
    pub waiting: i64,
    pub failed: i64,
    pub opened: i64,
    pub submitted: i64,
    pub reminded: i64,
}

/// An email that did not (or may not have) arrived, or is waiting for another try.
#[derive(Debug, Clone)]
pub struct MailProblem {
    pub email: String,
    pub kind: Kind,
    pub state: OutboxState,
    pub attempts: i64,
    pub error: String,
    pub next_attempt_at: i64,
}

/// The one rule for which recipients a reminder may go to, by hand (command line or admin
/// pages) or by a round's schedule: only those whose invitation was delivered at least
/// `REMINDER_MIN_DAYS` days ago, and who got no reminder in the last `REMINDER_MIN_DAYS`
/// days. A reminder never follows its invitation, or another reminder, within minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderCutoff {
    /// Unix seconds: the invitation was delivered at or before this moment.
    pub invited_before: i64,
    /// Unix seconds: no reminder was delivered after this moment.
    pub reminded_before: i64,
}

const DAY: i64 = 24 * 3600;

impl ReminderCutoff {
    /// For reminders sent by hand, from the command line or the admin pages.
    pub fn by_hand(now: i64, min_days: u32) -> ReminderCutoff {
        let gap = i64::from(min_days) * DAY;
        ReminderCutoff { invited_before: now - gap, reminded_before: now - gap }
    }

    /// For one step of a round's schedule, or `None` when the step is not due yet: the step
    /// itself says how long after the invitation (or how close to the last day) it goes, and
    /// `min_days` still keeps it from following another reminder closely.
    pub fn scheduled(
        step: ReminderStep,
        closes_on: jiff::civil::Date,
        today: jiff::civil::Date,
        now: i64,
        min_days: u32,
    ) -> Option<ReminderCutoff> {
        let invited_before = match step {
            ReminderStep::AfterInvitation(days) => now - i64::from(days) * DAY,
            ReminderStep::BeforeClosing(days) => {
                let from = closes_on.saturating_sub(jiff::Span::new().days(i64::from(days)));
                if today < from {
                    return None;
                }
                now
            }
        };
        Some(ReminderCutoff { invited_before, reminded_before: now - i64::from(min_days) * DAY })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invitation,
    Reminder,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::Reminder => "reminder",
        }
    }

    /// The word a coordinator reads.
    pub fn swedish(self) -> &'static str {
        match self {
            Kind::Invitation => "inbjudan",
            Kind::Reminder => "påminnelse",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Kind> {
        match s {
            "invitation" => Ok(Kind::Invitation),
            "reminder" => Ok(Kind::Reminder),
            _ => anyhow::bail!("unknown email kind `{s}` in the database"),
        }
    }
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try later: connection refused or lost, a timeout, a 4xx reply.
    Temporary(String),
    /// Retrying cannot help: a 5xx reply, an address that is not an address, a certificate
    /// the relay's name does not match.
    Permanent(String),
    /// The whole email was handed over and the line broke before the relay replied: it may
    /// have arrived, so it is not retried (the guarantee above).
    Uncertain(String),
    /// The relay asked to slow down ("too many messages"): nothing is wrong with the email.
    /// It is tried again after a pause of every sender, and the attempt does not count.
    SlowDown(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Temporary(why) | Failure::Permanent(why) | Failure::Uncertain(why) | Failure::SlowDown(why) => {
                f.write_str(why)
            }
        }
    }
}

/// What becomes of a row after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt {
        at: i64,
        error: String,
    },
    GiveUp {
        error: String,
    },
    Uncertain {
        error: String,
    },
    /// Every sender pauses (MAIL_SLOW_DOWN_SECONDS); the email goes back to the queue with
    /// its attempt not counted.
    SlowDown {
        error: String,
    },
}

/// Retry policy: a temporary failure waits `first_wait`, then twice as long each time (at most
/// six hours), until `max_attempts` attempts were made; a permanent failure stops at once.
pub fn after_failure(failure: &Failure, attempts: u32, max_attempts: u32, first_wait: u64, now: i64) -> AfterFailure {
    match failure {
        Failure::Permanent(why) => AfterFailure::GiveUp { error: why.clone() },
        Failure::Uncertain(why) => AfterFailure::Uncertain { error: why.clone() },
        Failure::SlowDown(why) => AfterFailure::SlowDown { error: why.clone() },
        Failure::Temporary(why) if attempts >= max_attempts => {
            AfterFailure::GiveUp { error: format!("gav upp efter {attempts} försök: {why}") }
        }
        Failure::Temporary(why) => {
            let wait = first_wait.saturating_mul(1 << attempts.saturating_sub(1).min(20)).min(6 * 3600);
            AfterFailure::RetryAt { at: now + wait as i64, error: why.clone() }
        }
    }
}

/// One step of a round's automatic reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderStep {
    /// So many days after the recipient's invitation was delivered.
    AfterInvitation(u32),
    /// So many days before the round closes (to everyone who has not answered).
    BeforeClosing(u32),
}

impl ReminderStep {
    /// How the step is stored with the reminders it queued, so that each step fires once.
    pub fn occasion(self) -> String {
        match self {
            ReminderStep::AfterInvitation(d) => format!("+{d}"),
            ReminderStep::BeforeClosing(d) => format!("-{d}"),
        }
    }
}

/// A schedule as the coordinator writes it: `7,14,-2` is 7 and 14 days after the invitation and
/// 2 days before closing. Empty or `none` is no automatic reminders.
pub fn parse_schedule(text: &str) -> Result<Vec<ReminderStep>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") || text.eq_ignore_ascii_case("inga") {
        return Ok(Vec::new());
    }
    let mut steps = Vec::new();
    for part in text.split(',').map(str::trim) {
        let days: i64 = part.trim_start_matches('+').parse().map_err(|_| {
            let (part, text) = (crate::text::shown(part), crate::text::shown(text));
            format!(
                "”{part}” i påminnelseschemat ”{text}” är inget antal dagar. Skriv till exempel 7,14,-2: \
                 7 och 14 dagar efter inbjudan och 2 dagar före sista svarsdagen"
            )
        })?;
        if days.abs() > 365 {
            return Err(format!("”{}” i påminnelseschemat är mer än ett år", crate::text::shown(part)));
        }
        let step = if days < 0 || part.starts_with('-') {
            ReminderStep::BeforeClosing(days.unsigned_abs() as u32)
        } else {
            ReminderStep::AfterInvitation(days as u32)
        };
        if !steps.contains(&step) {
            steps.push(step);
        }
    }
    Ok(steps)
}

/// The schedule written back the way `parse_schedule` reads it.
pub fn format_schedule(steps: &[ReminderStep]) -> String {
    steps
        .iter()
        .map(|s| match s {
            ReminderStep::AfterInvitation(d) => d.to_string(),
            ReminderStep::BeforeClosing(d) => format!("-{d}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_failures_back_off_and_permanent_ones_stop_at_once() {
        let t = Failure::Temporary("421 försök senare".into());
        assert_eq!(
            after_failure(&t, 1, 5, 60, 1000),
            AfterFailure::RetryAt { at: 1060, error: "421 försök senare".into() }
        );
        assert_eq!(
            after_failure(&t, 3, 5, 60, 1000),
            AfterFailure::RetryAt { at: 1240, error: "421 försök senare".into() }
        );
        assert!(
            matches!(after_failure(&t, 5, 5, 60, 1000), AfterFailure::GiveUp { error } if error.contains("5 försök"))
        );
        let p = Failure::Permanent("550 no such user".into());
        assert_eq!(after_failure(&p, 1, 5, 60, 1000), AfterFailure::GiveUp { error: "550 no such user".into() });
        // The wait is bounded however many attempts are allowed.
        assert!(matches!(after_failure(&t, 40, 50, 60, 0), AfterFailure::RetryAt { at, .. } if at == 6 * 3600));
    }

    #[test]
    fn a_schedule_reads_days_after_invitation_and_before_closing() {
        assert_eq!(
            parse_schedule("7, 14,-2").unwrap(),
            vec![ReminderStep::AfterInvitation(7), ReminderStep::AfterInvitation(14), ReminderStep::BeforeClosing(2)]
        );
        assert_eq!(parse_schedule("").unwrap(), vec![]);
        assert_eq!(parse_schedule("none").unwrap(), vec![]);
        assert_eq!(format_schedule(&parse_schedule("7,14,-2,7").unwrap()), "7,14,-2");
        let e = parse_schedule("7,tio").unwrap_err();
        assert!(e.contains("”tio” i påminnelseschemat"), "{e}");
        assert!(parse_schedule("400").is_err());
        assert_eq!(ReminderStep::BeforeClosing(2).occasion(), "-2");
    }
}
