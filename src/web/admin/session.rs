//! Logging in and out, setting a password through a one-time link, and `Signed`: the
//! signed-in account every other admin page asks for.

use super::{AdminError, CheckedForm, Page, see_other};
use crate::account::{self, Account, LoginOutcome, Role};
use crate::audit::Entry;
use crate::coordinator::{self, Actor};
use crate::store::now_ms;
use crate::token::Token;
use crate::web::AppState;
use crate::web::protect::client_address;
use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The signed-in account, reloaded from the database on every request.
pub struct Signed {
    pub account: Account,
    /// The session's CSRF token, which every form that changes anything carries back.
    pub csrf: String,
    session: Session,
    flash: Option<String>,
    /// When the session ends if nothing happens (Unix ms): the idle end, or a provider
    /// session's last hour, whichever comes first.
    ends_ms: i64,
}

impl Signed {
    pub fn is(&self, role: Role) -> bool {
        self.account.role == role
    }

    /// The account as the actor of a use case and its audit entry.
    pub fn actor(&self) -> Actor {
        Actor::account(&self.account.email)
    }

    /// A message shown once, on the next page (after a redirect).
    /// A message for the next page. It travels in the session cookie, which browsers cap at
    /// 4 kB, so a message that repeats a long value typed by the user is shortened.
    pub fn flash(&self, message: impl Into<String>) {
        let mut message: String = message.into();
        if message.chars().count() > FLASH_CHARS {
            message = message.chars().take(FLASH_CHARS - 1).chain(['…']).collect();
        }
        let _ = self.session.insert("flash", message);
    }

    /// A page in the admin layout: the account, the CSRF token and any message are added.
    pub fn page(&self, state: &AppState, status: StatusCode, template: &str, mut data: Value) -> HttpResponse {
        data["me"] = json!({
            "email": self.account.email,
            "role": self.account.role.swedish(),
            "coordinator": self.is(Role::Coordinator),
            "analyst": self.is(Role::Analyst),
            // The year whose lägesbild is being written, for the menu's link to its sources.
            "year": crate::round::today().year(),
        });
        data["csrf"] = json!(self.csrf);
        // Every page says when the session ends if nothing happens (no JavaScript needed).
        data["session"] = json!({
            "idle": minutes(state.serve.session_idle_minutes),
            "ends_at": crate::round::clock_time(self.ends_ms),
        });
        if let Some(flash) = &self.flash {
            data["flash"] = json!(flash);
        }
        state.pages.respond(status, template, data)
    }

    pub fn ok(&self, state: &AppState, template: &str, data: Value) -> Page {
        Ok(self.page(state, StatusCode::OK, template, data))
    }
}

impl FromRequest for Signed {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Signed, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        // A form posted after the session lapsed: its body is kept, so that what was typed
        // survives the login (`kept_form`). Taken only then: otherwise the handler's form reads it.
        let lapsed_form = (req.method() == actix_web::http::Method::POST
            && req.content_type() == "application/x-www-form-urlencoded"
            && lapsed(&req))
        .then(|| {
            req.extensions_mut().insert(BodyKeptForLogin);
            web::Bytes::from_request(&req, payload)
        });
        Box::pin(async move {
            let state = req.app_data::<web::Data<AppState>>().expect("the application state").clone();
            let session = req.get_session();
            // A page asked for without a session leads to the login, and back after it.
            let to_login = |why: &str| -> actix_web::Error {
                let back = if req.method() == actix_web::http::Method::GET {
                    format!("&till={}", urlencode(req.uri().path()))
                } else {
                    String::new()
                };
                InternalError::from_response("login needed", see_other(&format!("/admin/logga-in?{why}{back}"))).into()
            };
            let Some(id) = session.get::<i64>("account").ok().flatten() else {
                return Err(to_login("inloggning=1"));
            };
            let now = now();
            let seen = session.get::<i64>("seen").ok().flatten().unwrap_or(0);
            // A form taken to keep means the lapse was decided already (the marker is set):
            // decided once, so the handler's form extractor never waits for an answer that
            // does not come.
            if lapsed_form.is_some() || account::session_lapsed(seen, now, state.serve.session_idle_minutes) {
                if let Some(body) = lapsed_form
                    && let Ok(body) = body.await
                    && let Some(page) = kept_form(&state, &req, &body)
                {
                    return Err(InternalError::from_response("login needed", page).into());
                }
                session.purge();
                return Err(to_login("ut=tid"));
            }
            let since = session.get::<i64>("since").ok().flatten().unwrap_or(0);
            // A password session needs the password (and password sign-in still allowed); a
            // session from the identity provider needs neither.
            let via_provider = session.get::<bool>("provider").ok().flatten().unwrap_or(false);
            let signed_in_so = |a: &Account| via_provider || (a.has_password && state.serve.sign_in.password_login);
            // A provider's session is asked of the provider again after a working day, so that
            // someone taken out of the group does not keep a session they keep using.
            if via_provider && now_ms() - since > PROVIDER_SESSION_HOURS * 3_600_000 {
                session.purge();
                return Err(to_login("ut=dag"));
            }
            let account = match state.store.account(id).await {
                Ok(Some(a)) if !a.disabled && signed_in_so(&a) && since >= a.sessions_after => a,
                Ok(_) => {
                    session.purge();
                    return Err(to_login("inloggning=1"));
                }
                Err(e) => return Err(AdminError::Technical(e).into()),
            };
            // Seen now: the idle time starts again.
            let _ = session.insert("seen", now);
            let csrf = session.get::<String>("csrf").ok().flatten().unwrap_or_default();
            let flash = session.remove_as::<String>("flash").and_then(Result::ok);
            let idle_end = now_ms() + state.serve.session_idle_minutes as i64 * 60_000;
            let ends_ms =
                if via_provider { idle_end.min(since + PROVIDER_SESSION_HOURS * 3_600_000) } else { idle_end };
            Ok(Signed { account, csrf, session, flash, ends_ms })
        })
    }
}

/// Hours a session from the identity provider lasts, however active.
const PROVIDER_SESSION_HOURS: i64 = 12;

/// Marks a request whose form body `Signed` took to keep through the login: the handler's
/// own form extractor then leaves the answer to `Signed`.
pub(super) struct BodyKeptForLogin;

/// Whether this request's session has been idle too long.
fn lapsed(req: &HttpRequest) -> bool {
    let Some(state) = req.app_data::<web::Data<AppState>>() else { return false };
    let session = req.get_session();
    let signed_in = session.get::<i64>("account").ok().flatten().is_some();
    let seen = session.get::<i64>("seen").ok().flatten().unwrap_or(0);
    signed_in && account::session_lapsed(seen, now(), state.serve.session_idle_minutes)
}

/// The login page for a form posted after the session lapsed, holding what was posted (when
/// it carried the lapsed session's CSRF token: a form of this browser's, not another site's).
/// After the login, `login` offers to send it again (`resend_page`).
fn kept_form(state: &AppState, req: &HttpRequest, body: &[u8]) -> Option<HttpResponse> {
    let pairs = crate::web::posted::pairs(body).ok()?;
    let posted = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
    if !super::access::csrf_matches(req, posted) {
        return None;
    }
    // Only what was typed is worth keeping (a button alone is pressed again in a moment), and
    // only through a password login: a sign-in at the identity provider cannot carry it.
    let typed = pairs.iter().any(|(k, v)| k != "csrf" && k != "action" && !v.trim().is_empty());
    if !typed || !state.serve.sign_in.password_login {
        return None;
    }
    let kept: Vec<Value> = pairs
        .iter()
        .filter(|(k, _)| k != "csrf")
        .map(|(k, v)| json!({ "name": format!("{KEPT}{k}"), "value": v }))
        .collect();
    let session = req.get_session();
    let owner = session.get::<i64>("account").ok().flatten();
    session.clear();
    session.renew();
    // Offered again only to the account that typed it (another person may log in here).
    if let Some(owner) = owner {
        let _ = session.insert(KEPT_FOR, owner);
    }
    let message = format!(
        "Du loggades ut efter {} utan aktivitet. Det du skrev finns kvar: logga in igen, så kan du skicka det.",
        minutes(state.serve.session_idle_minutes)
    );
    let kept = Kept { fields: kept, action: req.path().to_string() };
    Some(kept_login_page(state, &session, StatusCode::UNAUTHORIZED, "", "", Some(&message), None, &kept))
}

/// Kept fields travel through the login page under this prefix.
const KEPT: &str = "kept:";
/// The session key naming the account whose form is kept.
const KEPT_FOR: &str = "kept_for";

/// The kept fields a login form carried, to carry them again when the login is refused.
fn kept_of(form: &CheckedForm) -> Kept {
    let fields = form
        .pairs()
        .iter()
        .filter(|(k, _)| k.starts_with(KEPT))
        .map(|(k, v)| json!({ "name": k, "value": v }))
        .collect();
    Kept { fields, action: form.field("kept_action").to_string() }
}

/// After a login that carried a kept form: the form again, to look over and send; only to
/// the account that typed it.
fn resend_page(
    state: &AppState,
    session: &Session,
    form: &CheckedForm,
    owner: Option<i64>,
    account: &Account,
) -> Option<HttpResponse> {
    let action = form.field("kept_action");
    if action.is_empty() || destination(action) != action || owner != Some(account.id) {
        return None;
    }
    let fields: Vec<Value> = form
        .pairs()
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(KEPT).map(|name| json!({ "name": name, "value": v })))
        .collect();
    if fields.is_empty() {
        return None;
    }
    let csrf = session.get::<String>("csrf").ok().flatten().unwrap_or_default();
    Some(state.pages.respond(
        StatusCode::OK,
        "admin/resend",
        json!({ "action": action, "fields": fields, "csrf": csrf, "what": what_it_does(action) }),
    ))
}

/// What sending a kept form to `action` does, in words, so that nobody resends blindly.
fn what_it_does(action: &str) -> String {
    let parts: Vec<&str> = action.trim_start_matches("/admin/").split('/').collect();
    let round = |key: &str| format!(" i omgången {key}");
    match parts.as_slice() {
        ["omgangar", "ny"] => "Skapar en ny omgång.".to_string(),
        ["omgangar", key, "utskick-texter"] => format!("Sparar e-posttexterna{}.", round(key)),
        ["omgangar", key, "datum"] => format!("Ändrar svarstiden{}.", round(key)),
        ["omgangar", key, "gallring"] => format!("Sparar gallringsregeln{}.", round(key)),
        ["omgangar", key, "utskick", _] => format!("Skickar e-post{}.", round(key)),
        ["omgangar", key, ..] => format!("Skickar formuläret{}.", round(key)),
        ["konton", ..] => "Ändrar konton.".to_string(),
        ["tillganglighet"] => "Sparar tillgänglighetsredogörelsen.".to_string(),
        _ => "Skickar formuläret.".to_string(),
    }
}

/// "1 minut", "30 minuter".
pub(super) fn minutes(n: u64) -> String {
    format!("{n} {}", if n == 1 { "minut" } else { "minuter" })
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|v| v.trim_start_matches('=').to_string()).unwrap_or_default()
}

/// The session's CSRF token, made when the session has none (before logging in, too).
fn session_csrf(session: &Session) -> String {
    if let Some(t) = session.get::<String>("csrf").ok().flatten() {
        return t;
    }
    let token = crate::token::random();
    let _ = session.insert("csrf", &token);
    token
}

const PASSWORDS_OFF: &str = "Inloggning med lösenord är avstängd här. Logga in med organisationens konto.";

/// The longest message kept for the next page, in characters.
const FLASH_CHARS: usize = 300;

/// Where to go after logging in: a page under /admin, never elsewhere, and never a value that
/// cannot be a header (a line break would answer 500).
pub(super) fn destination(till: &str) -> &str {
    let safe = till.starts_with("/admin/")
        && !till.contains("//")
        && !till.contains('\\')
        && till.len() <= 1000
        && !till.chars().any(char::is_control);
    if safe { till } else { "/admin/omgangar" }
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    till: Option<String>,
    ut: Option<String>,
    inloggning: Option<String>,
}

pub(super) fn login_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    email: &str,
    till: &str,
    message: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    kept_login_page(state, session, status, email, till, message, error, &Kept::default())
}

/// A form kept through the login: its fields and where it was posted.
#[derive(Default)]
struct Kept {
    fields: Vec<Value>,
    action: String,
}

/// The login page, carrying a kept form (through a refused password, too).
#[allow(clippy::too_many_arguments)]
fn kept_login_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    email: &str,
    till: &str,
    message: Option<&str>,
    error: Option<&str>,
    kept: &Kept,
) -> HttpResponse {
    let mut data = login_data(state, session, email, till, message, error);
    if !kept.fields.is_empty() {
        data["kept"] = json!(kept.fields);
        data["kept_action"] = json!(kept.action);
    }
    state.pages.respond(status, "admin/login", data)
}

fn login_data(
    state: &AppState,
    session: &Session,
    email: &str,
    till: &str,
    message: Option<&str>,
    error: Option<&str>,
) -> Value {
    json!({
            "csrf": session_csrf(session),
            "email": email,
            "till": till,
            "till_param": urlencode(till),
            "message": message,
            "error": error,
            "provider": state.provider.is_some(),
            "password_login": state.serve.sign_in.password_login,
    })
}

/// Starts a session for the account: a new session (and CSRF token), so that a session
/// planted before cannot be taken over. `via_provider`: signed in through the identity
/// provider, which an account without a password may be.
pub(super) fn begin_session(
    session: &Session,
    account: &Account,
    via_provider: bool,
) -> Result<(), actix_session::SessionInsertError> {
    session.renew();
    session.insert("account", account.id)?;
    session.insert("csrf", crate::token::random())?;
    session.insert("seen", now())?;
    session.insert("since", now_ms())?;
    session.insert("provider", via_provider)
}

pub async fn login_form(state: web::Data<AppState>, req: HttpRequest, query: web::Query<LoginQuery>) -> HttpResponse {
    let message = match (query.ut.as_deref(), query.inloggning.is_some()) {
        (Some("dag"), _) => Some(format!(
            "En inloggning via organisationens konto gäller i {PROVIDER_SESSION_HOURS} timmar. Logga in igen för att fortsätta."
        )),
        (Some("tid"), _) => Some(format!(
            "Du loggades ut efter {} utan aktivitet. Logga in igen för att fortsätta.",
            minutes(state.serve.session_idle_minutes)
        )),
        (Some(_), _) => Some("Du är utloggad.".to_string()),
        (None, true) => Some("Logga in för att se sidan.".to_string()),
        _ => None,
    };
    let till = query.till.clone().unwrap_or_default();
    login_page(&state, &req.get_session(), StatusCode::OK, "", &till, message.as_deref(), None)
}

pub async fn login(state: web::Data<AppState>, req: HttpRequest, form: CheckedForm) -> Page {
    let session = req.get_session();
    let (email, till) = (form.field("email"), form.field("till"));
    // A refused password does not lose a form kept through the login.
    let kept = kept_of(&form);
    let login_page =
        |state: &AppState,
         session: &Session,
         status: StatusCode,
         email: &str,
         till: &str,
         message: Option<&str>,
         error: Option<&str>| { kept_login_page(state, session, status, email, till, message, error, &kept) };
    if !state.serve.sign_in.password_login {
        return Ok(login_page(&state, &session, StatusCode::FORBIDDEN, email, till, None, Some(PASSWORDS_OFF)));
    }
    let address = client_address(&req, state.serve.behind_proxy);
    if state.logins.check_key(&address).is_err() {
        let mut res = login_page(
            &state,
            &session,
            StatusCode::TOO_MANY_REQUESTS,
            email,
            till,
            None,
            Some("För många inloggningsförsök från din adress. Vänta en minut och försök igen."),
        );
        res.headers_mut().insert(actix_web::http::header::RETRY_AFTER, "60".parse().expect("a header value"));
        return Ok(res);
    }
    match account::login(&state.store, email, form.raw("password")).await? {
        LoginOutcome::LoggedIn(account) => {
            let owner = session.get::<i64>(KEPT_FOR).ok().flatten();
            begin_session(&session, &account, false)?;
            state.store.audit(&Entry::new(&account.email, "loggade in")).await?;
            if let Some(page) = resend_page(&state, &session, &form, owner, &account) {
                return Ok(page);
            }
            Ok(see_other(destination(till)))
        }
        LoginOutcome::Unknown if state.unknown_logins.check_key(&email.to_lowercase()).is_err() => {
            Ok(wait_page(&state, &session, email, till, account::FIRST_WAIT_SECONDS, &kept))
        }
        LoginOutcome::Refused | LoginOutcome::Unknown => Ok(login_page(
            &state,
            &session,
            StatusCode::UNAUTHORIZED,
            email,
            till,
            None,
            Some(
                "Fel e-postadress eller lösenord. Kontrollera stavningen och försök igen. Har du glömt lösenordet: be en samordnare om en ny lösenordslänk.",
            ),
        )),
        LoginOutcome::Wait(seconds) => Ok(wait_page(&state, &session, email, till, seconds, &kept)),
    }
}

fn wait_page(state: &AppState, session: &Session, email: &str, till: &str, seconds: i64, kept: &Kept) -> HttpResponse {
    let minutes = (seconds + 59) / 60;
    kept_login_page(
        state,
        session,
        StatusCode::TOO_MANY_REQUESTS,
        email,
        till,
        None,
        Some(&format!(
            "Kontot har haft för många misslyckade inloggningar i rad. Vänta {minutes} minut{} och försök igen.",
            if minutes == 1 { "" } else { "er" }
        )),
        kept,
    )
}

/// Ends the account's sessions everywhere (a copied cookie included) and this browser's.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest, _form: CheckedForm) -> Page {
    let session = req.get_session();
    if let Some(id) = session.get::<i64>("account").ok().flatten() {
        state.store.end_sessions(id).await?;
    }
    session.purge();
    Ok(see_other("/admin/logga-in?ut=1"))
}

fn link_not_valid(state: &AppState) -> HttpResponse {
    state.pages.respond(
        StatusCode::NOT_FOUND,
        "admin/message",
        json!({
            "heading": "Länken gäller inte",
            "text": "Länken för att välja lösenord är redan använd, för gammal eller felaktig. Be en samordnare om en ny länk.",
            "back": "/admin/logga-in",
        }),
    )
}

pub async fn password_form(state: web::Data<AppState>, req: HttpRequest, token: web::Path<String>) -> Page {
    let Some(token) = Token::parse(&token) else { return Ok(link_not_valid(&state)) };
    let Some(account) = state.store.account_by_password_link(&token).await? else {
        return Ok(link_not_valid(&state));
    };
    Ok(password_page(&state, &req.get_session(), StatusCode::OK, &account, &token, None))
}

fn password_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    account: &Account,
    token: &Token,
    error: Option<&str>,
) -> HttpResponse {
    state.pages.respond(
        status,
        "admin/password",
        json!({
            "csrf": session_csrf(session),
            "email": account.email,
            "action": format!("/admin/losenord/{token}"),
            "min_length": account::MIN_PASSWORD_LENGTH,
            "error": error,
        }),
    )
}

pub async fn set_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: CheckedForm,
) -> Page {
    let session = req.get_session();
    let Some(token) = Token::parse(&token) else { return Ok(link_not_valid(&state)) };
    match coordinator::set_password(&state.store, &token, form.raw("password"), form.raw("again")).await {
        Ok(account) => Ok(state.pages.respond(
            StatusCode::OK,
            "admin/message",
            json!({
                "heading": "Lösenordet är sparat",
                "text": format!("Du kan nu logga in som {}.", account.email),
                "back": "/admin/logga-in",
                "back_label": "Till inloggningen",
            }),
        )),
        Err(coordinator::Error::PasswordLinkNotValid) => Ok(link_not_valid(&state)),
        Err(coordinator::Error::Invalid(problems)) => {
            let Some(account) = state.store.account_by_password_link(&token).await? else {
                return Ok(link_not_valid(&state));
            };
            let problem = problems.first().map(|(_, m)| m.as_str());
            Ok(password_page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, &account, &token, problem))
        }
        Err(e) => Err(e.into()),
    }
}
