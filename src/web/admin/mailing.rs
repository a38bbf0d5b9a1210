//! Emails from the browser: what is due, a confirmation that says how many emails will go
//! out, the round's texts and automatic reminders, and the addresses that failed.

use super::{Need, Page, Posted, Signed, allowed, field, round_view, see_other};
use crate::outbox::Kind;
use crate::outbox::letter::{LetterData, placeholder_problem};
use crate::outbox::queue::RoundMail;
use crate::outbox::{ReminderStep, format_schedule, parse_schedule};
use crate::round::{Phase, Round, today};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::json;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// "1 inbjudan", "3 inbjudningar".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Reminders from the browser go to those whose invitation arrived at least this long ago,
/// so that a reminder never follows its invitation within minutes.
fn invited_before(state: &AppState) -> i64 {
    now() - i64::from(state.mail.reminder_min_days) * 24 * 3600
}

/// The two kinds of sending, as named in the path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sending {
    Invitations,
    Reminders,
    /// Failed emails queued again, after the coordinator fixed what made them fail.
    Retry,
}

impl Sending {
    fn from_path(s: &str) -> Option<Sending> {
        match s {
            "inbjudningar" => Some(Sending::Invitations),
            "paminnelser" => Some(Sending::Reminders),
            "forsok-igen" => Some(Sending::Retry),
            _ => None,
        }
    }
}

fn describe_schedule(text: &str) -> String {
    let steps = parse_schedule(text).unwrap_or_default();
    if steps.is_empty() {
        return "Inga automatiska påminnelser.".into();
    }
    let parts: Vec<String> = steps
        .iter()
        .map(|s| match s {
            ReminderStep::AfterInvitation(d) => format!("{d} dagar efter inbjudan"),
            ReminderStep::BeforeClosing(d) => format!("{d} dagar före sista svarsdagen"),
        })
        .collect();
    format!("Automatiska påminnelser till dem som inte har svarat: {}.", parts.join(", "))
}

pub async fn overview(state: web::Data<AppState>, signed: Signed, key: web::Path<String>) -> Page {
    let round = match allowed(&state, &signed, &key, Need::Coordinator).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let invitations = state.store.invitations_due(round.id).await?;
    let reminders = state.store.reminders_due(round.id, invited_before(&state), reminded_before(&state)).await?;
    let mail = state.store.round_mail(round.id).await?;
    let problems: Vec<_> = state
        .store
        .mail_problems(round.id)
        .await?
        .into_iter()
        .map(|p| {
            json!({ "email": p.email, "kind": p.kind.swedish(), "state": match p.state.as_str() {
            "failed" => "misslyckades",
            "uncertain" => "avbröts under sändning",
            _ => "väntar på nytt försök",
        }, "error": p.error, "attempts": p.attempts })
        })
        .collect();
    let (waiting, _) = state.store.outbox_pending(round.id).await?;
    let data = json!({
        "round": round_view(&round),
        "invitations_due": invitations.queued,
        "reminders_due": reminders.queued,
        "waiting": waiting,
        "problems": problems,
        "failed": problems.iter().filter(|p| p["state"] == "misslyckades").count(),
        "min_days": state.mail.reminder_min_days,
        "files_only": state.mail.smtp_url.is_none(),
        "outbox_dir": state.mail.mail_outbox_dir.display().to_string(),
        "mail": {
            "invitation_subject": mail.invitation_subject,
            "invitation_text": mail.invitation_text,
            "reminder_subject": mail.reminder_subject,
            "reminder_text": mail.reminder_text,
            "contact": mail.contact,
            "reminders": mail.reminder_schedule,
            "schedule": describe_schedule(&mail.reminder_schedule),
        },
    });
    signed.ok(&state, "admin/mailing", data)
}

fn reminded_before(state: &AppState) -> i64 {
    now() - i64::from(state.mail.reminder_min_days) * 24 * 3600
}

/// How many emails a sending would queue now.
async fn due(state: &AppState, round: &Round, sending: Sending) -> anyhow::Result<usize> {
    Ok(match sending {
        Sending::Invitations => state.store.invitations_due(round.id).await?.queued,
        Sending::Reminders => {
            state.store.reminders_due(round.id, invited_before(state), reminded_before(state)).await?.queued
        }
        Sending::Retry => state.store.mail_problems(round.id).await?.iter().filter(|p| p.state == "failed").count(),
    })
}

pub async fn confirm_form(state: web::Data<AppState>, signed: Signed, path: web::Path<(String, String)>) -> Page {
    let (key, kind) = path.into_inner();
    let round = match allowed(&state, &signed, &key, Need::Coordinator).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let Some(sending) = Sending::from_path(&kind) else {
        return Ok(crate::web::pages::not_found(state).await);
    };
    let n = due(&state, &round, sending).await?;
    let closed = round.phase(today()) == Phase::Closed;
    let days = state.mail.reminder_min_days;
    let (heading, text) = match sending {
        Sending::Invitations => (
            "Skicka inbjudningar",
            format!(
                "{} kommer att skickas, en till varje mottagare som inte har fått någon och inte har svarat.",
                count(n, "inbjudan", "inbjudningar")
            ),
        ),
        Sending::Reminders => (
            "Skicka påminnelser",
            format!(
                "{} kommer att skickas, till dem som fick sin inbjudan för minst {days} dagar sedan och inte har svarat. Den som fått en påminnelse de senaste {days} dagarna får ingen nu.",
                count(n, "påminnelse", "påminnelser")
            ),
        ),
        Sending::Retry => (
            "Försök igen med misslyckade",
            format!(
                "{} som misslyckades kommer att skickas igen. Rätta först adresserna om det var de som var fel.",
                count(n, "e-postmeddelande", "e-postmeddelanden")
            ),
        ),
    };
    // What the recipients will read, shown with a made-up recipient.
    let sample = match sending {
        Sending::Retry => None,
        Sending::Invitations | Sending::Reminders => {
            let kind = if sending == Sending::Invitations { Kind::Invitation } else { Kind::Reminder };
            let mail = state.store.round_mail(round.id).await?;
            let data = LetterData::new(
                &round,
                &mail,
                state.mailer.sender(),
                "Förnamn Efternamn",
                "Förskolan Exempel",
                format!("{}/s/…", state.base_url.trim_end_matches('/')),
            );
            let letter = state.mailer.letters().render(kind, &mail, &data)?;
            Some(json!({ "subject": letter.subject, "text": letter.text, "from": state.mailer.sender().to_string() }))
        }
    };
    let data = json!({
        "round": round_view(&round),
        "heading": heading,
        "text": text,
        "count": n,
        "button": format!("Ja, skicka {}", count(n, "e-postmeddelande", "e-postmeddelanden")),
        "sample": sample,
        "files_only": state.mail.smtp_url.is_none(),
        "outbox_dir": state.mail.mail_outbox_dir.display().to_string(),
        "closed": closed && sending != Sending::Retry,
        "action": format!("/admin/omgangar/{}/utskick/{kind}", round.key),
    });
    signed.ok(&state, "admin/mail_confirm", data)
}

pub async fn send(state: web::Data<AppState>, signed: Signed, path: web::Path<(String, String)>, form: Posted) -> Page {
    let (key, kind) = path.into_inner();
    let round = match allowed(&state, &signed, &key, Need::CoordinatorPost(field(&form, "csrf"))).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let Some(sending) = Sending::from_path(&kind) else {
        return Ok(crate::web::pages::not_found(state).await);
    };
    let back = format!("/admin/omgangar/{}/utskick", round.key);
    if round.phase(today()) == Phase::Closed && sending != Sending::Retry {
        signed.flash(
            "Omgången är stängd, så inga e-postmeddelanden skickades. Förläng omgången först om fler ska kunna svara.",
        );
        return Ok(see_other(&back));
    }
    let (n, action, message) = match sending {
        Sending::Invitations => {
            let q = state.store.queue_invitations(round.id, &|_, _| {}).await?;
            (q.queued, "skickade inbjudningar", format!("{} skickas nu.", count(q.queued, "inbjudan", "inbjudningar")))
        }
        Sending::Reminders => {
            let q = state
                .store
                .queue_reminders(round.id, None, invited_before(&state), reminded_before(&state), &|_, _| {})
                .await?;
            (q.queued, "skickade påminnelser", format!("{} skickas nu.", count(q.queued, "påminnelse", "påminnelser")))
        }
        Sending::Retry => {
            let n = state.store.requeue(round.id, false).await? as usize;
            (
                n,
                "skickade misslyckade igen",
                format!("{} skickas igen.", count(n, "e-postmeddelande", "e-postmeddelanden")),
            )
        }
    };
    signed.audit(&state, signed.entry(action).round(&round.key).recipients(n)).await?;
    signed.flash(format!("{message} Följ leveransen på mottagarlistan."));
    Ok(see_other(&back))
}

pub async fn save_texts(state: web::Data<AppState>, signed: Signed, key: web::Path<String>, form: Posted) -> Page {
    let round = match allowed(&state, &signed, &key, Need::CoordinatorPost(field(&form, "csrf"))).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let back = format!("/admin/omgangar/{}/utskick", round.key);
    let schedule = match parse_schedule(field(&form, "reminders")) {
        Ok(steps) => format_schedule(&steps),
        Err(e) => {
            signed.flash(format!("Inget sparades: påminnelseschemat går inte att läsa: {e}"));
            return Ok(see_other(&back));
        }
    };
    let optional = |name: &str| Some(field(&form, name).to_string()).filter(|v| !v.is_empty());
    let mail = RoundMail {
        invitation_subject: optional("invitation_subject"),
        invitation_text: optional("invitation_text"),
        reminder_subject: optional("reminder_subject"),
        reminder_text: optional("reminder_text"),
        contact: optional("contact"),
        reminder_schedule: schedule,
    };
    // A text the templates cannot render is refused here, not when the emails go out.
    if let Err(e) = state.letters_check(&round, &mail) {
        tracing::info!("round texts refused: {e:#}");
        let own = [&mail.invitation_subject, &mail.invitation_text, &mail.reminder_subject, &mail.reminder_text];
        let text = own.into_iter().flatten().find_map(|t| placeholder_problem(t)).unwrap_or_else(|| {
            "En platshållare i texterna går inte att läsa. Skriv dem som {{title}}, med två klamrar på varje sida och inget annat inuti.".into()
        });
        return Ok(signed.page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "admin/message",
            json!({ "heading": "Texterna sparades inte", "text": format!("{text} Inget har ändrats."), "back": back, "back_label": "Tillbaka till utskick" }),
        ));
    }
    state.store.set_round_mail(round.id, &mail).await?;
    signed
        .audit(
            &state,
            signed
                .entry("ändrade e-posttexter och påminnelser")
                .round(&round.key)
                .detail(describe_schedule(&mail.reminder_schedule)),
        )
        .await?;
    signed.flash(format!("Texterna är sparade. {}", describe_schedule(&mail.reminder_schedule)));
    Ok(see_other(&back))
}
