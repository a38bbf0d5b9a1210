//! What the respondent's form refuses, and the one place that turns each refusal into a
//! Swedish page. Every answer from the form, page or refusal, is marked `no-store`.

use crate::web::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Unknown, malformed and expired links get one and the same page.
    #[error("unknown link")]
    UnknownLink,
    /// Many unknown links from one address: wait a minute.
    #[error("too many unknown links from one address")]
    TooManyMisses,
    #[error("the posted page is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// Not a form at all, or a step that does not exist.
    #[error("the posted page is not a form")]
    Garbled,
    /// A form whose fields cannot be read; the sentence names the field.
    #[error("{0}")]
    Unreadable(String),
    #[error("the form's security code is missing or wrong")]
    Csrf,
    /// A reporting link the coordinator has revoked.
    #[error("a revoked reporting link")]
    LinkRevoked,
    /// A reporting link that has taken its cap of reports today.
    #[error("the reporting link's cap for today is reached")]
    DailyCap,
    /// Many reports from one address within the hour.
    #[error("too many reports from one address")]
    TooManyReports,
    #[error(transparent)]
    Technical(#[from] anyhow::Error),
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Refusal::UnknownLink => StatusCode::NOT_FOUND,
            Refusal::TooManyMisses => StatusCode::TOO_MANY_REQUESTS,
            Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Garbled | Refusal::Unreadable(_) => StatusCode::BAD_REQUEST,
            Refusal::Csrf => StatusCode::FORBIDDEN,
            Refusal::LinkRevoked => StatusCode::GONE,
            Refusal::DailyCap | Refusal::TooManyReports => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Technical(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A plain answer; `render_refusals` replaces it with the page.
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.status_code().to_string())
    }
}

impl Refusal {
    /// The Swedish page: heading, text.
    fn page(&self) -> (&'static str, String) {
        const READ_AGAIN: &str =
            "Öppna länken från e-postmeddelandet igen och fortsätt därifrån; sparade svar finns kvar.";
        match self {
            Refusal::UnknownLink => (
                "Länken fungerar inte",
                "Länken är felaktig eller gäller inte längre. Kontrollera att hela länken från e-postmeddelandet kom med. \
                 Fungerar det ändå inte: kontakta samordnaren som skickade enkäten."
                    .into(),
            ),
            Refusal::TooManyMisses => (
                "För många försök",
                "Många felaktiga länkar har öppnats från din adress. Vänta en minut och försök sedan igen med länken från e-postmeddelandet.".into(),
            ),
            Refusal::TooLarge { limit } => (
                "Svaret är för stort",
                format!(
                    "Sidan som skickades var större än {} kB och kunde inte tas emot. Korta ner de längsta textsvaren och försök igen. Svar som redan sparats finns kvar.",
                    limit / 1024
                ),
            ),
            Refusal::Garbled => (
                "Sidan kunde inte läsas",
                format!("Det som skickades gick inte att läsa som ett formulär. {READ_AGAIN}"),
            ),
            Refusal::Unreadable(sentence) => {
                ("Sidan kunde inte läsas", format!("{sentence} Dina tidigare sparade svar finns kvar."))
            }
            Refusal::Csrf => (
                "Sidan kunde inte skickas",
                format!("Formuläret saknade sin säkerhetskod eller hade fel kod. {READ_AGAIN}"),
            ),
            Refusal::LinkRevoked => (
                "Länken är spärrad",
                "Den här länken till blanketten används inte längre. Fråga förvaltningens samordnare om den nya länken, eller leta upp blanketten på intranätet igen. Inget av det du skrev har sparats.".into(),
            ),
            Refusal::DailyCap => (
                "Blanketten tar inte emot fler rapporter i dag",
                "Länken har tagit emot så många rapporter i dag som den får. Skicka din rapport i morgon, eller kontakta förvaltningens samordnare direkt. Inget av det du skrev har sparats.".into(),
            ),
            Refusal::TooManyReports => (
                "För många rapporter",
                "Många rapporter har skickats från din adress den senaste timmen. Vänta en stund och försök igen, eller kontakta förvaltningens samordnare. Inget av det du skrev har sparats.".into(),
            ),
            Refusal::Technical(_) => (
                "Något gick fel",
                "Ett tekniskt fel uppstod och sidan kunde inte visas. Dina tidigare sparade svar finns kvar. Försök igen om en stund.".into(),
            ),
        }
    }
}

/// Renders the form's refusals as pages, and marks every answer `no-store`: form pages hold
/// answers, and no browser or proxy may keep a copy.
pub async fn render_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let mut res = match res.response().error().and_then(|e| e.as_error::<Refusal>()) {
        None => res.map_into_boxed_body(),
        Some(refusal) => {
            if let Refusal::Technical(e) = refusal {
                tracing::error!("respondent form failed: {e:#}");
            }
            let (heading, text) = refusal.page();
            let status = refusal.status_code();
            let wait = matches!(refusal, Refusal::TooManyMisses | Refusal::TooManyReports);
            let (req, _) = res.into_parts();
            let mut page = match req.app_data::<web::Data<AppState>>() {
                Some(state) => state.pages.message(status, heading, &text),
                None => HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(text),
            };
            if wait {
                page.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("60"));
            }
            ServiceResponse::new(req, page).map_into_boxed_body()
        }
    };
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
