//! Who may do what, checked before a handler runs: extractors for the signed-in role
//! (`SignedAs<Coordinator>`), the round in the path with the role it needs
//! (`RoundFor<Coordinator>`), and a form whose CSRF token was checked (`CheckedForm`). A
//! handler that takes them cannot forget the checks. Refusals and failures are `AdminError`s,
//! rendered as Swedish pages by `render_errors`, the scope's one error renderer.

use super::session::Signed;
use crate::account::Role;
use crate::coordinator;
use crate::round::Round;
use crate::web::AppState;
use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use serde_json::json;
use std::collections::HashMap;
use std::marker::PhantomData;
use subtle::ConstantTimeEq;

/// What a request needs beyond being signed in.
pub trait Need {
    fn allows(role: Role) -> bool;

    /// Whether the role may have it while the round can still be answered.
    fn while_open(_: Role) -> bool {
        true
    }
}

/// Any signed-in role.
pub struct AnyRole;
pub struct Coordinator;
pub struct Analyst;

impl Need for AnyRole {
    fn allows(_: Role) -> bool {
        true
    }
}

impl Need for Coordinator {
    fn allows(role: Role) -> bool {
        role == Role::Coordinator
    }
}

impl Need for Analyst {
    fn allows(role: Role) -> bool {
        role == Role::Analyst
    }
}

/// The round's figures (tallies, charts, report, trend): analysts at any time, coordinators
/// once the round has closed. A coordinator sees who has answered; two downloads, before
/// and after one more answer, would differ by exactly that unit's answers.
pub struct Figures;

impl Need for Figures {
    fn allows(_: Role) -> bool {
        true
    }

    fn while_open(role: Role) -> bool {
        role == Role::Analyst
    }
}

/// Why an admin request was not carried out. Nothing was changed.
///
/// Not a `std::error::Error`, so that any error a handler meets converts into it with `?`.
#[derive(Debug)]
pub enum AdminError {
    NoSuchRound(String),
    /// The signed-in role may not do this.
    Forbidden(Role),
    /// A form without this session's CSRF token.
    Csrf,
    /// A post that is not a readable form; the sentence says why.
    Unreadable(String),
    /// A post larger than the admin pages take (`FORM_LIMIT`).
    TooLarge,
    NotFound,
    /// Figures asked for by a coordinator while the round is still answered (see `Figures`).
    FiguresWhileOpen,
    /// A use case refused: its sentence is the page.
    Refused(coordinator::Error),
    Technical(anyhow::Error),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::NoSuchRound(key) => write!(f, "no round `{key}`"),
            AdminError::Forbidden(role) => write!(f, "not for the role {role:?}"),
            AdminError::FiguresWhileOpen => f.write_str("figures asked for by a coordinator while the round is open"),
            AdminError::Csrf => f.write_str("a form without its CSRF token"),
            AdminError::Unreadable(why) => write!(f, "an unreadable form: {why}"),
            AdminError::TooLarge => f.write_str("a form over the size limit"),
            AdminError::NotFound => f.write_str("nothing on this address"),
            AdminError::Refused(e) => write!(f, "refused: {e}"),
            AdminError::Technical(e) => write!(f, "{e:#}"),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for AdminError {
    fn from(e: E) -> AdminError {
        match e.into().downcast::<coordinator::Error>() {
            Ok(coordinator::Error::Technical(e)) => AdminError::Technical(e),
            Ok(refused) => AdminError::Refused(refused),
            Err(e) => AdminError::Technical(e),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::NoSuchRound(_) | AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::Forbidden(_) | AdminError::Csrf | AdminError::FiguresWhileOpen => StatusCode::FORBIDDEN,
            AdminError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AdminError::Unreadable(_) => StatusCode::BAD_REQUEST,
            AdminError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::Technical(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A plain answer; `render_errors` replaces it with the page.
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.status_code().to_string())
    }
}

impl AdminError {
    /// The Swedish page: heading, text.
    fn page(&self) -> (String, String) {
        match self {
            AdminError::NoSuchRound(key) => {
                ("Omgången finns inte".into(), format!("Det finns ingen omgång som heter {key}."))
            }
            AdminError::Forbidden(Role::Analyst) => (
                "Det här får ditt konto inte göra".into(),
                "Ditt konto är ett analytikerkonto: det kan läsa resultaten men inte ändra omgångar, se mottagarnas adresser eller skicka e-post. Be en samordnare om hjälp.".into(),
            ),
            AdminError::Forbidden(Role::Coordinator) => (
                "Det här får ditt konto inte göra".into(),
                "Svaren kan bara laddas ner av analytiker. Samordnare ser vilka som har svarat och analytiker vad som svarats, så att ingen kan koppla ihop de två.".into(),
            ),
            AdminError::FiguresWhileOpen => (
                "Resultaten öppnas när omgången har stängt".into(),
                "Samordnare ser vilka som har svarat, så medan omgången pågår skulle två nedladdningar, före och efter ett svar, visa just det svaret. Resultaten går att ladda ner här när omgången har stängt; analytiker kan ladda ner dem redan nu.".into(),
            ),
            AdminError::Csrf => (
                "Formuläret kunde inte tas emot".into(),
                "Formuläret saknade sin säkerhetskod eller hade en gammal kod, så inget har ändrats. Gå tillbaka, ladda om sidan och försök igen.".into(),
            ),
            AdminError::Unreadable(why) => {
                ("Formuläret kunde inte tas emot".into(), format!("{why} Inget har ändrats."))
            }
            AdminError::TooLarge => (
                "Formuläret kunde inte tas emot".into(),
                format!("Det som skickades var större än {} kB och togs inte emot. Korta ner de längsta texterna och försök igen. Inget har ändrats.", FORM_LIMIT / 1024),
            ),
            AdminError::NotFound => (
                "Sidan finns inte".into(),
                "Adressen leder inte till någon sida i administrationen. Den kan vara felstavad, eller gälla något som inte finns längre.".into(),
            ),
            AdminError::Refused(e) => ("Det gick inte".into(), e.to_string()),
            AdminError::Technical(_) => (
                "Ett tekniskt fel uppstod".into(),
                "Ett tekniskt fel uppstod och åtgärden kunde inte slutföras. Inget av det som redan var sparat har ändrats. Försök igen om en stund.".into(),
            ),
        }
    }
}

/// Renders every `AdminError` of the scope as its Swedish page; a technical one is logged
/// (in English, without the request's data).
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let Some(error) = res.response().error().and_then(|e| e.as_error::<AdminError>()) else {
        return Ok(res.map_into_boxed_body());
    };
    if let AdminError::Technical(e) = error {
        tracing::error!("admin page failed: {e:#}");
    }
    let (heading, text) = error.page();
    let status = error.status_code();
    let (req, _) = res.into_parts();
    let page = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.pages.respond(
            status,
            "admin/message",
            json!({ "heading": heading, "text": text, "back": "/admin/omgangar", "back_label": "Till omgångarna" }),
        ),
        None => HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(text),
    };
    Ok(ServiceResponse::new(req, page).map_into_boxed_body())
}

fn state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>().expect("the application state").clone()
}

/// A signed-in account of the role `N` needs.
pub struct SignedAs<N> {
    pub signed: Signed,
    need: PhantomData<N>,
}

impl<N: Need + 'static> FromRequest for SignedAs<N> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<SignedAs<N>, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed = Signed::from_request(req, payload);
        Box::pin(async move {
            let signed = signed.await?;
            if !N::allows(signed.account.role) {
                return Err(AdminError::Forbidden(signed.account.role).into());
            }
            Ok(SignedAs { signed, need: PhantomData })
        })
    }
}

/// The round named by `{key}` in the path, for a signed-in account of the role `N` needs.
pub struct RoundFor<N> {
    pub round: Round,
    pub signed: Signed,
    need: PhantomData<N>,
}

impl<N: Need + 'static> FromRequest for RoundFor<N> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<RoundFor<N>, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed = Signed::from_request(req, payload);
        let key = req.match_info().get("key").unwrap_or_default().to_string();
        let state = state(req);
        Box::pin(async move {
            let signed = signed.await?;
            let round = state.store.round(&key).await.map_err(AdminError::from)?.ok_or(AdminError::NoSuchRound(key))?;
            if !N::allows(signed.account.role) {
                return Err(AdminError::Forbidden(signed.account.role).into());
            }
            if !N::while_open(signed.account.role) && round.phase(crate::round::today()) != crate::round::Phase::Closed
            {
                return Err(AdminError::FiguresWhileOpen.into());
            }
            Ok(RoundFor { round, signed, need: PhantomData })
        })
    }
}

/// Whether `posted` is this session's CSRF token (made at the session's start, before
/// logging in too).
pub fn csrf_matches(req: &HttpRequest, posted: &str) -> bool {
    req.get_session()
        .get::<String>("csrf")
        .ok()
        .flatten()
        .is_some_and(|t| !t.is_empty() && bool::from(t.as_bytes().ct_eq(posted.as_bytes())))
}

/// A posted form that carried this session's CSRF token; anything else is refused with 403
/// before the handler runs. Fields are read by name (the last of a repeated name), or in
/// order as pairs where names repeat (checkboxes).
pub struct CheckedForm {
    fields: HashMap<String, String>,
    pairs: Vec<(String, String)>,
}

impl CheckedForm {
    /// Every field by name, to show a refused form again as it was filled in.
    pub fn fields(&self) -> &HashMap<String, String> {
        &self.fields
    }

    /// Every posted name and value, in the order sent.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// A field's value, trimmed; empty when absent.
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(|v| v.trim()).unwrap_or_default()
    }

    /// A field's value, or `None` when it was left empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.field(name).to_string()).filter(|v| !v.is_empty())
    }

    /// A round's email texts and reminder schedule, as the new-round and the emails forms
    /// name their fields; an empty text is the template's own.
    pub fn round_mail(&self) -> crate::outbox::RoundMail {
        crate::outbox::RoundMail {
            invitation_subject: self.optional("invitation_subject"),
            invitation_text: self.optional("invitation_text"),
            reminder_subject: self.optional("reminder_subject"),
            reminder_text: self.optional("reminder_text"),
            contact: self.optional("contact"),
            reminder_schedule: self.field("reminders").to_string(),
        }
    }

    /// A field's value as typed (a password keeps its spaces).
    pub fn raw(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// The largest form the admin pages take (the email texts are the longest fields).
pub const FORM_LIMIT: usize = 256 * 1024;

impl FromRequest for CheckedForm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<CheckedForm, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The session lapsed and `Signed` took the body to keep it through the login: its
        // answer (the login page) is the request's; this extractor waits for it, never answering.
        if req.extensions().contains::<super::session::BodyKeptForLogin>() {
            return Box::pin(std::future::pending());
        }
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await.map_err(|e| match e.as_error::<actix_web::error::PayloadError>() {
                Some(actix_web::error::PayloadError::Overflow) => AdminError::TooLarge,
                _ => AdminError::Unreadable(UNREADABLE.into()),
            })?;
            if req.content_type() != "application/x-www-form-urlencoded" {
                return Err(AdminError::Unreadable(UNREADABLE.into()).into());
            }
            let pairs = crate::web::posted::pairs(&body).map_err(|p| AdminError::Unreadable(p.sentence()))?;
            let fields: HashMap<String, String> = pairs.iter().cloned().collect();
            let posted = fields.get("csrf").map(String::as_str).unwrap_or_default();
            if !csrf_matches(&req, posted) {
                return Err(AdminError::Csrf.into());
            }
            Ok(CheckedForm { fields, pairs })
        })
    }
}

const UNREADABLE: &str =
    "Det som skickades gick inte att läsa som ett formulär. Gå tillbaka, ladda om sidan och försök igen.";
