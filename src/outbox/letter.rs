//! Invitations and reminders rendered from `templates/email/`: a subject, a plain-text part
//! and an HTML part per kind, with the round's own subject and text where the coordinator
//! set them. Plain text is rendered without HTML escaping, the HTML part with it.

use super::Kind;
use super::RoundMail;
use crate::round::{Round, swedish_date};
use anyhow::Context;
use handlebars::Handlebars;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use serde::Serialize;

pub struct Letters {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
}

/// What an email says, before it is addressed.
#[derive(Debug, Clone)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Everything the templates can print.
#[derive(Debug, Clone, Serialize)]
pub struct LetterData {
    pub title: String,
    pub name: String,
    pub organisation: String,
    pub link: String,
    pub opens: String,
    pub closes: String,
    pub contact: String,
    /// The round's own text, if the coordinator wrote one, split at blank lines.
    pub paragraphs: Vec<String>,
}

impl LetterData {
    pub fn new(
        round: &Round,
        mail: &RoundMail,
        sender: &Mailbox,
        name: &str,
        organisation: &str,
        link: String,
    ) -> Self {
        let contact = mail.contact.clone().unwrap_or_else(|| {
            format!(
                "Frågor om enkäten besvaras av {}, {}.",
                sender.name.as_deref().unwrap_or("samordnaren"),
                sender.email
            )
        });
        LetterData {
            title: round.title.clone(),
            name: name.to_string(),
            organisation: organisation.to_string(),
            link,
            opens: swedish_date(round.opens_on),
            closes: swedish_date(round.closes_on),
            contact,
            paragraphs: Vec::new(),
        }
    }
}

const PARTS: [&str; 3] = ["subject", "txt", "html"];

impl Letters {
    pub fn load(templates: &crate::shipped::Files) -> anyhow::Result<Letters> {
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.register_escape_fn(handlebars::html_escape);
        for kind in [Kind::Invitation, Kind::Reminder] {
            for part in PARTS {
                let path = format!("email/{}.{part}.hbs", kind.as_str());
                let (source, origin) =
                    templates.get(&path).with_context(|| format!("the email template {path} is missing"))?;
                let name = format!("{}.{part}", kind.as_str());
                let registry = if part == "html" { &mut html } else { &mut text };
                registry.register_template_string(&name, source).with_context(|| format!("template {origin}"))?;
            }
        }
        Ok(Letters { text, html })
    }

    /// The email of this kind for this recipient, with the round's own subject and text.
    pub fn render(&self, kind: Kind, mail: &RoundMail, data: &LetterData) -> anyhow::Result<Letter> {
        let (own_subject, own_text) = match kind {
            Kind::Invitation => (&mail.invitation_subject, &mail.invitation_text),
            Kind::Reminder => (&mail.reminder_subject, &mail.reminder_text),
        };
        let mut data = data.clone();
        if let Some(own) = own_text {
            let rendered = self.text.render_template(own, &data).context("the round's own email text")?;
            data.paragraphs = paragraphs(&rendered);
        }
        let subject = match own_subject {
            Some(own) => self.text.render_template(own, &data).context("the round's own subject")?,
            None => self.text.render(&format!("{}.subject", kind.as_str()), &data)?,
        };
        Ok(Letter {
            // A subject is one line, whatever the template's last newline.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: self.text.render(&format!("{}.txt", kind.as_str()), &data)?,
            html: self.html.render(&format!("{}.html", kind.as_str()), &data)?,
        })
    }

    /// Checks a round's own subjects and texts and renders them with sample data, so a
    /// mistake in them is reported when the coordinator sets them and not when the emails go
    /// out. The error is the sentence the coordinator is shown.
    pub fn check(&self, round: &Round, mail: &RoundMail, sender: &Mailbox) -> Result<(), String> {
        if let Some((_, problem)) = mail.texts_problem() {
            return Err(problem);
        }
        let data = LetterData::new(round, mail, sender, "Namn", "Organisation", "https://exempel/s/x".into());
        for kind in [Kind::Invitation, Kind::Reminder] {
            if let Err(e) = self.render(kind, mail, &data) {
                tracing::info!(reason = %format!("{e:#}"), kind = kind.as_str(), "round texts refused");
                return Err("En platshållare i texterna går inte att läsa. Skriv dem som {{title}}, med två klamrar på varje sida och inget annat inuti.".into());
            }
        }
        Ok(())
    }
}

/// What a coordinator's text may print, as `{{name}}`.
pub const PLACEHOLDERS: [&str; 6] = ["title", "name", "organisation", "opens", "closes", "link"];

/// A placeholder in a coordinator's own text that would not print what was meant: an unknown
/// name (it would print nothing) or a brace pair left open. Said in Swedish, for the pages.
pub fn placeholder_problem(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Some(format!(
                "En platshållare saknar sitt slut: ”{}”. Skriv den som {{{{title}}}}, med två klamrar på varje sida.",
                rest[start..].chars().take(20).collect::<String>()
            ));
        };
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Some(format!(
                "Platshållaren {{{{{name}}}}} finns inte och skulle bli tom. Använd någon av {}.",
                PLACEHOLDERS.iter().map(|p| format!("{{{{{p}}}}}")).collect::<Vec<_>>().join(", ")
            ));
        }
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Some("En platshållare saknar sin början: ”}}” utan ”{{” före. Skriv den som {{title}}.".into());
    }
    None
}

fn paragraphs(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// A recipient's address as lettre takes it, or why it is not one. The name goes into a
/// header, which is one line: line breaks and other control characters become spaces.
pub fn mailbox(email: &str, name: &str) -> Result<Mailbox, String> {
    let address = email.parse().map_err(|e| format!("ogiltig e-postadress `{email}`: {e}"))?;
    let name: Vec<&str> = name.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect();
    Ok(Mailbox::new((!name.is_empty()).then(|| name.join(" ")), address))
}

/// The email as sent: both parts, the plain one first so that simple readers show it, and its
/// Message-ID (`<...@sender's domain>`).
pub fn message(from: &Mailbox, to: Mailbox, letter: Letter, message_id: &str) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .message_id(Some(message_id.to_string()))
        .subject(letter.subject)
        .multipart(MultiPart::alternative_plain_html(letter.text, letter.html))?)
}

/// A new Message-ID on the sender's domain: unique without asking anyone.
pub fn new_message_id(from: &Mailbox) -> String {
    format!("<{}@{}>", crate::token::random(), from.email.domain())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unclosed_placeholders_are_named() {
        assert_eq!(placeholder_problem("Hej {{name}}, svara senast {{ closes }}."), None);
        assert!(placeholder_problem("Hej {{namn}}").unwrap().contains("{{namn}} finns inte"));
        assert!(placeholder_problem("Enkät: {{title}").unwrap().contains("saknar sitt slut"));
        assert!(placeholder_problem("Enkät: title}}").unwrap().contains("saknar sin början"));
    }
    use jiff::civil::date;

    fn round() -> Round {
        Round {
            id: 1,
            key: "lagesbild-2027".into(),
            survey_id: "lagesbild".into(),
            title: "Lägesbild 2027".into(),
            year: 2027,
            opens_on: date(2027, 3, 1),
            closes_on: date(2027, 3, 31),
            definition: String::new(),
            disclosure_threshold: 5,
        }
    }

    fn letters() -> Letters {
        Letters::load(&crate::shipped::Files::templates(None).unwrap()).unwrap()
    }

    #[test]
    fn an_invitation_has_the_link_the_closing_date_and_the_contact_line_in_both_parts() {
        let sender: Mailbox = "Samordnaren <samordnare@example.se>".parse().unwrap();
        let mail = RoundMail { contact: Some("Frågor: Anna, 08-123 45".into()), ..Default::default() };
        let data = LetterData::new(&round(), &mail, &sender, "Bo", "Bygg & Bo <AB>", "http://x/s/abc".into());
        let letter = letters().render(Kind::Invitation, &mail, &data).unwrap();
        assert_eq!(letter.subject, "Enkät: Lägesbild 2027 – svara senast 31 mars 2027");
        for part in [&letter.text, &letter.html] {
            assert!(
                part.contains("http://x/s/abc") && part.contains("31 mars 2027") && part.contains("Anna, 08-123 45")
            );
        }
        // Plain text as written, HTML escaped.
        assert!(letter.text.contains("Bygg & Bo <AB>"), "{}", letter.text);
        assert!(letter.html.contains("Bygg &amp; Bo &lt;AB&gt;"), "{}", letter.html);
    }

    #[test]
    fn a_rounds_own_subject_and_text_replace_the_templates_and_may_use_its_fields() {
        let sender: Mailbox = "lagesbild@localhost".parse().unwrap();
        let mail = RoundMail {
            reminder_subject: Some("Sista chansen före {{closes}}".into()),
            reminder_text: Some("Första stycket om {{organisation}}.\n\nAndra <stycket>.".into()),
            ..Default::default()
        };
        let data = LetterData::new(&round(), &mail, &sender, "", "Skolan", "http://x/s/abc".into());
        let letter = letters().render(Kind::Reminder, &mail, &data).unwrap();
        assert_eq!(letter.subject, "Sista chansen före 31 mars 2027");
        assert!(letter.text.contains("Första stycket om Skolan.\n\nAndra <stycket>."), "{}", letter.text);
        assert!(letter.html.contains("<p>Andra &lt;stycket&gt;.</p>"), "{}", letter.html);
        assert!(!letter.text.contains("ännu inte fått"));
        assert!(letter.text.contains("lagesbild@localhost"));
        let broken = RoundMail { invitation_text: Some("{{#if}}".into()), ..Default::default() };
        assert!(letters().check(&round(), &broken, &sender).is_err());
        assert!(mailbox("inte en adress", "").is_err());
    }
}
