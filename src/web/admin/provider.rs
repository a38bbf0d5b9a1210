//! Signing in through the city's identity provider: OpenID Connect's authorisation code flow
//! with PKCE (`openidconnect`). `/admin/oidc/start` sends the browser to the provider;
//! `/admin/oidc/callback` takes the code back, exchanges it with the provider directly, checks
//! the ID token (issuer, audience, signature, nonce) and signs the person in through
//! `coordinator::sign_in_through_provider`, which owns the account rules.
//!
//! Between the two, the flow's secrets (state, nonce, PKCE verifier) wait in a cookie of their
//! own, encrypted and `SameSite=Lax`: the session cookie is `Strict`, which a browser does not
//! send on the way back from another site. The provider's discovery document and keys are
//! fetched at each sign-in, so a provider that rotates its keys or is down at start-up
//! never leaves the server stuck.

use super::session::{begin_session, destination, login_page};
use crate::account::RoleClaim;
use crate::config::Provider;
use crate::coordinator::{self, ProviderClaims};
use crate::web::AppState;
use actix_session::SessionExt;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// The flow's cookie: only the callback reads it, and it lasts as long as a sign-in may take.
const FLOW_COOKIE: &str = "lagesbild_oidc";
const FLOW_PATH: &str = "/admin/oidc";
const FLOW_MINUTES: i64 = 10;

/// The groups or roles the provider lists, besides the standard claims. A provider may send
/// a single value as a string instead of a list (ADFS does).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RoleClaims {
    #[serde(default, deserialize_with = "one_or_many")]
    groups: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    roles: Vec<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(v) => vec![v],
        OneOrMany::Many(v) => v,
    })
}
impl AdditionalClaims for RoleClaims {}

type TokenFields = IdTokenFields<
    RoleClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// `CoreClient` with `RoleClaims`, in the state discovery leaves it.
type StaffClient = Client<
    RoleClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<TokenFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the callback needs from the start of the flow.
#[derive(Serialize, Deserialize)]
struct Flow {
    /// When the flow began (Unix seconds): the cookie's age is checked here too, not only by the browser.
    at: i64,
    state: String,
    nonce: String,
    verifier: String,
    till: String,
}

/// The key the flow's cookie is encrypted under, derived from the session secret.
pub struct FlowKey(Key);

impl FlowKey {
    pub fn from_secret(secret: &[u8]) -> FlowKey {
        let derived = sha2::Sha512::digest([b"lagesbild oidc flow cookie\0".as_slice(), secret].concat());
        FlowKey(Key::from(derived.as_slice()))
    }
}

/// The provider's HTTP client: no redirects followed (a provider's answer that redirects
/// could point the server anywhere), and time limits.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(15))
        .build()?)
}

/// The provider's client, from its discovery document and keys, kept for a few minutes so
/// that a stream of sign-in starts does not become a stream of requests to the provider.
#[derive(Default)]
pub struct ClientCache(tokio::sync::RwLock<Option<(std::time::Instant, StaffClient)>>);

const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(300);

async fn client(state: &AppState, provider: &Provider) -> anyhow::Result<StaffClient> {
    if let Some((at, client)) = &*state.provider_cache.0.read().await
        && at.elapsed() < CACHE_FOR
    {
        return Ok(client.clone());
    }
    let fresh = discover(state, provider).await?;
    *state.provider_cache.0.write().await = Some((std::time::Instant::now(), fresh.clone()));
    Ok(fresh)
}

/// Forgets the kept client: the provider may have new keys.
async fn forget_client(state: &AppState) {
    *state.provider_cache.0.write().await = None;
}

async fn discover(state: &AppState, provider: &Provider) -> anyhow::Result<StaffClient> {
    let issuer = IssuerUrl::new(provider.issuer.clone())?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &state.provider_http).await?;
    let redirect = format!("{}/admin/oidc/callback", state.base_url.trim_end_matches('/'));
    Ok(StaffClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect)?))
}

#[derive(Deserialize)]
pub struct StartQuery {
    till: Option<String>,
}

/// Sends the browser to the provider, with the flow's secrets in their cookie.
pub async fn start(
    state: web::Data<AppState>,
    key: web::Data<FlowKey>,
    req: HttpRequest,
    query: web::Query<StartQuery>,
) -> HttpResponse {
    let Some(provider) = &state.provider else { return refused(&state, &req, StatusCode::NOT_FOUND, NOT_CONFIGURED) };
    if state.logins.check_key(&crate::web::protect::client_address(&req, state.serve.behind_proxy)).is_err() {
        return refused(&state, &req, StatusCode::TOO_MANY_REQUESTS, TOO_MANY);
    }
    let client = match client(&state, provider).await {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!("the identity provider could not be reached or is not the one configured: {e:#}");
            return refused(&state, &req, StatusCode::BAD_GATEWAY, UNREACHABLE);
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request =
        client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
    // "openid" is always asked for; the others are the provider's (OIDC_SCOPES).
    for scope in provider.scopes.iter().filter(|s| s.as_str() != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    let flow = Flow {
        at: jiff::Timestamp::now().as_second(),
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        till: destination(query.till.as_deref().unwrap_or_default()).to_string(),
    };
    let mut jar = CookieJar::new();
    let cookie = Cookie::build(FLOW_COOKIE, serde_json::to_string(&flow).unwrap_or_default())
        .path(FLOW_PATH)
        .http_only(true)
        .secure(state.base_url.starts_with("https://"))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(FLOW_MINUTES))
        .finish();
    jar.private_mut(&key.0).add(cookie);
    let mut res = super::see_other(url.as_str());
    for c in jar.delta() {
        let _ = res.add_cookie(c);
    }
    res
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Takes the provider's answer: checks it belongs to this browser's flow, exchanges the code,
/// checks the ID token and signs the person in. Every refusal is a page with a sentence.
pub async fn callback(
    state: web::Data<AppState>,
    key: web::Data<FlowKey>,
    req: HttpRequest,
    query: web::Query<Callback>,
) -> HttpResponse {
    let Some(provider) = &state.provider else { return refused(&state, &req, StatusCode::NOT_FOUND, NOT_CONFIGURED) };
    let mut res = match signed_in(&state, provider, &key, &req, &query).await {
        // Not a redirect: the way here began at the provider's site, and a browser does not
        // send the (SameSite=Strict) session cookie along a redirect chain that began on
        // another site. A page of this site that moves on by itself starts a new navigation.
        Ok(to) => state.pages.respond(
            StatusCode::OK,
            "admin/message",
            serde_json::json!({
                "redirect": to,
                "heading": "Du är inloggad",
                "text": "Du skickas vidare.",
                "back": to,
                "back_label": "Fortsätt",
            }),
        ),
        Err((status, message)) => refused(&state, &req, status, &message),
    };
    // The flow is over either way: its cookie goes.
    let mut gone = Cookie::build(FLOW_COOKIE, "").path(FLOW_PATH).finish();
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    res
}

type Refusal = (StatusCode, String);

async fn signed_in(
    state: &AppState,
    provider: &Provider,
    key: &FlowKey,
    req: &HttpRequest,
    query: &Callback,
) -> Result<String, Refusal> {
    let flow: Option<Flow> = req.cookie(FLOW_COOKIE).and_then(|c| {
        let mut jar = CookieJar::new();
        jar.add_original(c.into_owned());
        jar.private(&key.0).get(FLOW_COOKIE).and_then(|c| serde_json::from_str(c.value()).ok())
    });
    let Some(flow) = flow.filter(|f| jiff::Timestamp::now().as_second() - f.at <= FLOW_MINUTES * 60) else {
        return Err((StatusCode::BAD_REQUEST, EXPIRED.into()));
    };
    let same_state = query
        .state
        .as_deref()
        .is_some_and(|s| subtle::ConstantTimeEq::ct_eq(s.as_bytes(), flow.state.as_bytes()).into());
    if !same_state {
        tracing::warn!("a sign-in came back with a state that is not this browser's: refused");
        return Err((StatusCode::BAD_REQUEST, EXPIRED.into()));
    }
    if let Some(error) = &query.error {
        tracing::info!(error = %crate::text::shown(error), "the identity provider did not sign the person in");
        return Err((StatusCode::FORBIDDEN, CANCELLED.into()));
    }
    let Some(code) = &query.code else { return Err((StatusCode::BAD_REQUEST, EXPIRED.into())) };
    let unreachable = |e: &dyn std::fmt::Display| {
        tracing::warn!("sign-in through the identity provider failed: {e}");
        (StatusCode::BAD_GATEWAY, UNREACHABLE.to_string())
    };
    let client = client(state, provider).await.map_err(|e| unreachable(&format!("{e:#}")))?;
    let exchange = client.exchange_code(AuthorizationCode::new(code.clone())).map_err(|e| unreachable(&e))?;
    let token = match exchange
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier))
        .request_async(&state.provider_http)
        .await
    {
        Ok(token) => token,
        // A code used before, expired, or not made for this verifier: the provider refuses it.
        Err(openidconnect::RequestTokenError::ServerResponse(e)) => {
            tracing::warn!("the identity provider refused the sign-in's code: {}", e.error());
            return Err((StatusCode::BAD_REQUEST, EXPIRED.into()));
        }
        Err(e) => return Err(unreachable(&format!("{e:#}"))),
    };
    let id_token = token.id_token().ok_or_else(|| unreachable(&"the provider's answer has no ID token"))?;
    // Asymmetric signatures only: never `none`, never one made with the client secret.
    let verifier = client.id_token_verifier().set_allowed_algs(SIGNATURES.to_vec());
    let claims = match id_token.claims(&verifier, &Nonce::new(flow.nonce)) {
        Ok(claims) => claims,
        Err(e) => {
            // Perhaps the provider has new keys: the next sign-in fetches them.
            forget_client(state).await;
            return Err(unreachable(&format!("the ID token does not hold: {e}")));
        }
    };
    let values = match provider.roles.claim {
        RoleClaim::Groups => &claims.additional_claims().groups,
        RoleClaim::Roles => &claims.additional_claims().roles,
    };
    let person = ProviderClaims {
        email: claims.email().map(|e| e.as_str().to_string()),
        // A provider that never says (Entra ID) is trusted for its own addresses only when
        // configured so (OIDC_REQUIRE_EMAIL_VERIFIED=false).
        email_verified: claims.email_verified().unwrap_or(!provider.require_email_verified),
        role: provider.roles.role(values),
    };
    match coordinator::sign_in_through_provider(&state.store, person).await {
        Ok(account) => {
            begin_session(&req.get_session(), &account, true).map_err(|e| unreachable(&e))?;
            Ok(flow.till)
        }
        Err(coordinator::Error::Technical(e)) => Err(unreachable(&format!("{e:#}"))),
        Err(refusal) => Err((StatusCode::FORBIDDEN, refusal.to_string())),
    }
}

/// The signatures an ID token may carry: the provider's own keys, never the client secret
/// (HS*) and never none.
const SIGNATURES: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

const TOO_MANY: &str = "För många inloggningsförsök från din adress. Vänta en minut och försök igen.";
const NOT_CONFIGURED: &str = "Inloggning med organisationens konto är inte inställd här.";
const UNREACHABLE: &str = "Inloggningen med organisationens konto fungerar inte just nu. Försök igen om en stund, eller kontakta IT-supporten.";
const EXPIRED: &str = "Inloggningen kunde inte slutföras: den var för gammal, redan använd eller påbörjad i en annan webbläsare. Börja om.";
const CANCELLED: &str = "Inloggningen avbröts hos organisationens inloggningstjänst. Börja om för att försöka igen.";

fn refused(state: &AppState, req: &HttpRequest, status: StatusCode, message: &str) -> HttpResponse {
    login_page(state, &req.get_session(), status, "", "", None, Some(message))
}
