//! Emails from the browser: what is due, a confirmation that says how many emails will go
//! out, the round's texts and automatic reminders, and the addresses that failed.

use super::{CheckedForm, Coordinator, Page, RoundFor, round_view, see_other};
use crate::coordinator::{self, Sending, describe_schedule};
use crate::outbox::letter::LetterData;
use crate::outbox::{Kind, OutboxState};
use crate::round::{Phase, today};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::json;

/// "1 inbjudan", "3 inbjudningar".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The sendings, as named in the path.
fn sending(path: &str) -> Option<Sending> {
    match path {
        "inbjudningar" => Some(Sending::Invitations),
        "paminnelser" => Some(Sending::Reminders),
        "forsok-igen" => Some(Sending::Retry { uncertain_too: false }),
        _ => None,
    }
}

pub async fn overview(state: web::Data<AppState>, access: RoundFor<Coordinator>) -> Page {
    let RoundFor { round, signed, .. } = access;
    let days = state.mail.reminder_min_days;
    let invitations = coordinator::due(&state.store, &round, Sending::Invitations, days).await?;
    let reminders = coordinator::due(&state.store, &round, Sending::Reminders, days).await?;
    let mail = state.store.round_mail(round.id).await?;
    let problems: Vec<_> = state
        .store
        .mail_problems(round.id)
        .await?
        .into_iter()
        .map(|p| {
            json!({ "email": p.email, "kind": p.kind.swedish(), "state": match p.state {
            OutboxState::Failed => "misslyckades",
            OutboxState::Uncertain => "avbröts under sändning",
            _ => "väntar på nytt försök",
        }, "error": p.error, "attempts": p.attempts })
        })
        .collect();
    let (waiting, _) = state.store.outbox_pending(Some(round.id)).await?;
    let data = json!({
        "round": round_view(&round),
        "invitations_due": invitations,
        "reminders_due": reminders,
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

pub async fn confirm_form(
    state: web::Data<AppState>,
    access: RoundFor<Coordinator>,
    path: web::Path<(String, String)>,
) -> Page {
    let RoundFor { round, signed, .. } = access;
    let (_, kind) = path.into_inner();
    let sending = sending(&kind).ok_or(super::AdminError::NotFound)?;
    let n = coordinator::due(&state.store, &round, sending, state.mail.reminder_min_days).await?;
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
        Sending::Retry { .. } => (
            "Försök igen med misslyckade",
            format!(
                "{} som misslyckades kommer att skickas igen. Rätta först adresserna om det var de som var fel.",
                count(n, "e-postmeddelande", "e-postmeddelanden")
            ),
        ),
    };
    // What the recipients will read, shown with a made-up recipient.
    let sample = match sending {
        Sending::Retry { .. } => None,
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
        "closed": closed && !matches!(sending, Sending::Retry { .. }),
        "action": format!("/admin/omgangar/{}/utskick/{kind}", round.key),
    });
    signed.ok(&state, "admin/mail_confirm", data)
}

pub async fn send(
    state: web::Data<AppState>,
    access: RoundFor<Coordinator>,
    path: web::Path<(String, String)>,
    _form: CheckedForm,
) -> Page {
    let RoundFor { round, signed, .. } = access;
    let (_, kind) = path.into_inner();
    let sending = sending(&kind).ok_or(super::AdminError::NotFound)?;
    let back = format!("/admin/omgangar/{}/utskick", round.key);
    let days = state.mail.reminder_min_days;
    let queued = coordinator::queue_sending(&state.store, &signed.actor(), &round, sending, days, &|_, _| {}).await;
    let n = match queued {
        Ok((n, _)) => n,
        Err(coordinator::Error::RoundClosed { .. }) => {
            signed.flash(
                "Omgången är stängd, så inga e-postmeddelanden skickades. Förläng omgången först om fler ska kunna svara.",
            );
            return Ok(see_other(&back));
        }
        Err(e) => return Err(e.into()),
    };
    let message = match sending {
        Sending::Invitations => format!("{} skickas nu.", count(n, "inbjudan", "inbjudningar")),
        Sending::Reminders => format!("{} skickas nu.", count(n, "påminnelse", "påminnelser")),
        Sending::Retry { .. } => format!("{} skickas igen.", count(n, "e-postmeddelande", "e-postmeddelanden")),
    };
    signed.flash(format!("{message} Följ leveransen på mottagarlistan."));
    Ok(see_other(&back))
}

pub async fn save_texts(state: web::Data<AppState>, access: RoundFor<Coordinator>, form: CheckedForm) -> Page {
    let RoundFor { round, signed, .. } = access;
    let back = format!("/admin/omgangar/{}/utskick", round.key);
    let mail = form.round_mail();
    let (letters, sender) = (state.mailer.letters(), state.mailer.sender());
    match coordinator::save_round_mail(&state.store, &signed.actor(), &round, letters, sender, mail).await {
        Ok(mail) => {
            signed.flash(format!("Texterna är sparade. {}", describe_schedule(&mail.reminder_schedule)));
            Ok(see_other(&back))
        }
        Err(coordinator::Error::Invalid(problems)) if problems.iter().any(|(f, _)| *f == "reminders") => {
            let text = problems.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ");
            signed.flash(format!("Inget sparades: {}", lowercase_first(&text)));
            Ok(see_other(&back))
        }
        Err(coordinator::Error::Invalid(problems)) => {
            let text = problems.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ");
            Ok(signed.page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "admin/message",
                json!({ "heading": "Texterna sparades inte", "text": format!("{text} Inget har ändrats."), "back": back, "back_label": "Tillbaka till utskick" }),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}
