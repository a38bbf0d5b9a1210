//! The coordinator's email commands as the command line runs them: queue invitations and
//! reminders, send without the server, show what happened, set a round's texts and schedule.

use super::letter::Letters;
use super::queue::RoundMail;
use super::worker::Mailer;
use super::{ReminderStep, format_schedule, parse_schedule};
use crate::admin::find_round;
use crate::audit::Entry;
use crate::config::{MailSettings, Settings};
use crate::round::{Phase, Round, swedish_date, today};
use crate::store::Store;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use lettre::message::Mailbox;
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}}")).expect("valid template"));
    bar
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn open_round(store: &Store, key: &str, doing: &str) -> anyhow::Result<Round> {
    let round = find_round(store, key).await?;
    if round.phase(today()) == Phase::Closed {
        bail!("omgången {} stängde {}: inga {doing} skickas", round.key, swedish_date(round.closes_on));
    }
    Ok(round)
}

fn how_sent(round: &Round) -> String {
    format!("Servern skickar dem inom några sekunder, eller kör `lagesbild send --round {}`.", round.key)
}

/// `lagesbild invite`: an invitation for everyone on the roster who has none and has not answered.
pub async fn invite(store: &Store, key: &str) -> anyhow::Result<()> {
    let round = open_round(store, key, "inbjudningar").await?;
    let bar = progress(0, "köar inbjudningar");
    let q = store
        .queue_invitations(round.id, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await?;
    bar.finish_and_clear();
    store.audit(&Entry::command_line("skickade inbjudningar").round(&round.key).recipients(q.queued)).await?;
    println!(
        "{}: köade {} inbjudningar ({} mottagare hade redan en inbjudan eller har svarat).",
        round.key, q.queued, q.left_out
    );
    if q.queued > 0 {
        println!("{}", how_sent(&round));
    }
    Ok(())
}

/// `lagesbild remind`: a reminder for everyone invited who has not answered and was not reminded lately.
pub async fn remind(store: &Store, mail: &MailSettings, key: &str) -> anyhow::Result<()> {
    let round = open_round(store, key, "påminnelser").await?;
    let bar = progress(0, "köar påminnelser");
    let reminded_before = now() - i64::from(mail.reminder_min_days) * 24 * 3600;
    let q = store
        .queue_reminders(round.id, None, now(), reminded_before, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await?;
    bar.finish_and_clear();
    store.audit(&Entry::command_line("skickade påminnelser").round(&round.key).recipients(q.queued)).await?;
    println!(
        "{}: köade {} påminnelser. Ingen påminnelse till de {} som har svarat, inte fått sin inbjudan än \
         eller fått en påminnelse de senaste {} dagarna.",
        round.key, q.queued, q.left_out, mail.reminder_min_days
    );
    if q.queued > 0 {
        println!("{}", how_sent(&round));
    }
    Ok(())
}

/// `lagesbild send`: delivers the outbox without the server.
pub async fn send(
    settings: &Settings,
    mail: &MailSettings,
    store: &Store,
    key: Option<&str>,
    wait: bool,
    retry_failed: bool,
    resend_uncertain: bool,
) -> anyhow::Result<()> {
    let round_id = match key {
        Some(key) => find_round(store, key).await?.id,
        None => 0,
    };
    if retry_failed || resend_uncertain {
        if round_id == 0 {
            bail!("name the round whose failed emails should be sent again: --round");
        }
        let n = store.requeue(round_id, resend_uncertain).await?;
        let key = key.unwrap_or_default();
        store.audit(&Entry::command_line("skickade misslyckade igen").round(key).recipients(n as usize)).await?;
        println!("{n} e-postmeddelanden köades igen.");
    }
    let mailer = Arc::new(Mailer::new(settings, mail, store.clone())?);
    let (pending, _) = store.outbox_pending(round_id).await?;
    let bar = progress(pending as u64, "skickar");
    let ticker = bar.clone();
    let tally = mailer.send_all(round_id, wait, Arc::new(move || ticker.inc(1))).await?;
    bar.finish_and_clear();
    let (left, _) = store.outbox_pending(round_id).await?;
    println!(
        "Skickade {} e-postmeddelanden {}. {} misslyckades, {} väntar på ett nytt försök.",
        tally.sent.load(Ordering::Relaxed),
        mailer.describe(),
        tally.failed.load(Ordering::Relaxed),
        left
    );
    if tally.failed.load(Ordering::Relaxed) > 0 {
        println!("Se `lagesbild round status --round ...` för adresserna och felen.");
    }
    Ok(())
}

/// `lagesbild round status`: per group and category, and the addresses that failed.
pub async fn status(store: &Store, key: &str) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let lines = store.mail_status(round.id).await?;
    println!(
        "{} ({}), öppen {} – {}",
        round.key,
        round.title,
        swedish_date(round.opens_on),
        swedish_date(round.closes_on)
    );
    let header = [
        "grupp",
        "kategori",
        "mottagare",
        "inbjudna",
        "levererade",
        "i kö",
        "misslyckade",
        "öppnat länken",
        "svarat",
        "påminda",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut total = [0i64; 8];
    for l in &lines {
        let counts = [l.recipients, l.invited, l.delivered, l.waiting, l.failed, l.opened, l.submitted, l.reminded];
        for (t, c) in total.iter_mut().zip(counts) {
            *t += c;
        }
        rows.push([l.group.clone(), l.category.clone()].into_iter().chain(counts.iter().map(i64::to_string)).collect());
    }
    rows.push(["totalt".to_string(), String::new()].into_iter().chain(total.iter().map(i64::to_string)).collect());
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(c, v)| {
                let pad = " ".repeat(widths[c] - v.chars().count());
                if c < 2 { format!("{v}{pad}") } else { format!("{pad}{v}") }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(&header.map(String::from)));
    for r in &rows {
        println!("{}", line(r));
    }
    let problems = store.mail_problems(round.id).await?;
    if problems.is_empty() {
        println!("Inga misslyckade utskick.");
        return Ok(());
    }
    println!("\nAdresser med problem:");
    for p in problems {
        let what = match p.state.as_str() {
            "failed" => format!("misslyckades efter {} försök", p.attempts),
            "uncertain" => "osäker".to_string(),
            _ => {
                let at = jiff::Timestamp::from_second(p.next_attempt_at)
                    .map(|t| t.to_zoned(jiff::tz::TimeZone::get(crate::round::TIME_ZONE).expect("bundled")))
                    .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                format!("nytt försök {at} ({} försök hittills)", p.attempts)
            }
        };
        println!("  {}  {}  {what}: {}", p.email, p.kind.swedish(), p.error);
    }
    Ok(())
}

/// Changes to a round's emails, as given on the command line; `Some("")` resets a text.
#[derive(Debug, Default)]
pub struct MailChanges {
    pub invitation_subject: Option<String>,
    pub invitation_text: Option<String>,
    pub reminder_subject: Option<String>,
    pub reminder_text: Option<String>,
    pub contact: Option<String>,
    pub reminders: Option<String>,
}

/// A text from the command line: `@file` reads the file; an empty text means "the template's own".
fn text_argument(value: Option<String>, current: Option<String>) -> anyhow::Result<Option<String>> {
    match value {
        None => Ok(current),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => match v.strip_prefix('@') {
            Some(path) => Ok(Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?)),
            None => Ok(Some(v)),
        },
    }
}

/// `lagesbild round mail`: shows, and changes, a round's subjects, texts, contact line and schedule.
pub async fn round_mail(
    settings: &Settings,
    mail: &MailSettings,
    store: &Store,
    key: &str,
    changes: MailChanges,
) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let current = store.round_mail(round.id).await?;
    let reminder_schedule = match changes.reminders {
        Some(text) => format_schedule(&parse_schedule(&text).map_err(anyhow::Error::msg)?),
        None => current.reminder_schedule.clone(),
    };
    let updated = RoundMail {
        invitation_subject: text_argument(changes.invitation_subject, current.invitation_subject.clone())?,
        invitation_text: text_argument(changes.invitation_text, current.invitation_text.clone())?,
        reminder_subject: text_argument(changes.reminder_subject, current.reminder_subject.clone())?,
        reminder_text: text_argument(changes.reminder_text, current.reminder_text.clone())?,
        contact: text_argument(changes.contact, current.contact.clone())?,
        reminder_schedule,
    };
    let sender = Mailbox::new(
        Some(mail.mail_from_name.clone()),
        mail.mail_from.parse().with_context(|| format!("MAIL_FROM `{}` is not an email address", mail.mail_from))?,
    );
    Letters::load(&settings.templates_dir)?.check(&round, &updated, &sender)?;
    if updated != current {
        store.set_round_mail(round.id, &updated).await?;
        store.audit(&Entry::command_line("ändrade e-posttexter och påminnelser").round(&round.key)).await?;
        println!("Sparade ändringarna för {}.", round.key);
    }
    let own = |v: &Option<String>| match v {
        Some(v) => format!("\"{}\"", v.trim()),
        None => "mallens".to_string(),
    };
    println!("{}:", round.key);
    println!("  ämne, inbjudan:      {}", own(&updated.invitation_subject));
    println!("  text, inbjudan:      {}", own(&updated.invitation_text));
    println!("  ämne, påminnelse:    {}", own(&updated.reminder_subject));
    println!("  text, påminnelse:    {}", own(&updated.reminder_text));
    println!("  kontaktrad:          {}", own(&updated.contact));
    let steps = parse_schedule(&updated.reminder_schedule).unwrap_or_default();
    let described: Vec<String> = steps
        .iter()
        .map(|s| match s {
            ReminderStep::AfterInvitation(d) => format!("{d} dagar efter inbjudan"),
            ReminderStep::BeforeClosing(d) => format!("{d} dagar före stängning"),
        })
        .collect();
    println!(
        "  automatiska påminnelser: {}",
        if described.is_empty() { "inga".to_string() } else { described.join(", ") }
    );
    Ok(())
}
