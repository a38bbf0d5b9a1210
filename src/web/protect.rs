//! Protection every page gets: strict headers, CSRF tokens, a brake on guessed links,
//! a bounded request body, and request logs that never carry a token or an answer.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Instant;

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()"))
}

/// One log line per request, naming the route pattern (`/s/{token}`), never the path,
/// so that no personal token reaches a log.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let res = next.call(req).await?;
    let route = res.request().match_pattern().unwrap_or_else(|| "(no route)".into());
    let seconds = started.elapsed().as_secs_f64();
    // The incident report form's requests are counted, not logged one by one: a line's time
    // could be matched against a proxy's log of addresses, and so name a reporter.
    if !route.starts_with("/rapportera/") {
        tracing::info!(%method, %route, status = res.status().as_u16(), ms = seconds * 1000.0, "request");
    }
    if let Some(state) = res.request().app_data::<actix_web::web::Data<super::AppState>>() {
        state.metrics.request(&route, method.as_str(), res.status().as_u16(), seconds);
    }
    Ok(res)
}

/// Signs CSRF tokens. A form's token is bound to what the form is for (for the respondent's
/// form, the hash of the personal token), so it cannot be replayed on another form.
pub struct CsrfKey(Vec<u8>);

impl CsrfKey {
    pub fn new(secret: &[u8]) -> CsrfKey {
        CsrfKey(secret.to_vec())
    }

    fn mac(&self, purpose: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"csrf:");
        mac.update(purpose.as_bytes());
        mac
    }

    pub fn token(&self, purpose: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.mac(purpose).finalize().into_bytes())
    }

    /// Constant-time check of a posted token.
    pub fn verify(&self, purpose: &str, posted: &str) -> bool {
        use base64::Engine;
        match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(posted) {
            Ok(bytes) => self.mac(purpose).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

pub type MissLimiter = DefaultKeyedRateLimiter<IpAddr>;

/// Counts only wrong links, per client address: many respondents in one municipality share
/// an address, and their valid links must never be slowed down.
pub fn miss_limiter(per_minute: u32) -> MissLimiter {
    let n = NonZeroU32::new(per_minute.max(1)).expect("at least one");
    RateLimiter::keyed(Quota::per_minute(n))
}

/// Incident reports per client address: `per_hour`, a burst of as many at once. In memory
/// only: the address is never stored or logged.
pub fn report_limiter(per_hour: u32) -> MissLimiter {
    let n = NonZeroU32::new(per_hour.max(1)).expect("at least one");
    RateLimiter::keyed(Quota::per_hour(n))
}

pub type UnknownLoginLimiter = DefaultKeyedRateLimiter<String>;

/// `FREE_FAILURES` failures at once, then one more per `FIRST_WAIT_SECONDS`, per address.
pub fn unknown_login_limiter() -> UnknownLoginLimiter {
    let burst = NonZeroU32::new(crate::account::FREE_FAILURES as u32).expect("at least one");
    let every = std::time::Duration::from_secs(crate::account::FIRST_WAIT_SECONDS as u64);
    RateLimiter::keyed(Quota::with_period(every).expect("a period").allow_burst(burst))
}

/// The client's address: the peer's, or behind a proxy the one the proxy added.
pub fn client_address(req: &HttpRequest, behind_proxy: bool) -> IpAddr {
    let forwarded = || {
        let headers = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok());
        added_by_proxy(headers)
    };
    let from_proxy = behind_proxy.then(forwarded).flatten();
    from_proxy.or_else(|| req.peer_addr().map(|a| a.ip())).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The address the proxy in front of us appended to `X-Forwarded-For`: the rightmost entry.
/// Entries to its left were written by the client and can be anything; taking the leftmost
/// (as `realip_remote_addr` does) would let a client pick a new address per request and
/// escape every per-address brake.
fn added_by_proxy<'a>(headers: impl Iterator<Item = &'a str>) -> Option<IpAddr> {
    let last = headers.flat_map(|h| h.split(',')).map(str::trim).filter(|e| !e.is_empty()).last()?;
    // An address may come with a port, and IPv6 in brackets.
    let host = match last.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None if last.matches(':').count() == 1 => last.split(':').next().unwrap_or(last),
        None => last,
    };
    host.parse().ok()
}

/// Forgets the brakes' entries for addresses that are no longer held back, so that their
/// memory does not grow with every address ever seen. Run every minute.
pub fn forget_old_keys(per_address: &[&MissLimiter], unknown: &UnknownLoginLimiter) {
    for brake in per_address {
        brake.retain_recent();
        brake.shrink_to_fit();
    }
    unknown.retain_recent();
    unknown.shrink_to_fit();
}

pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads a request body up to `limit` bytes, refusing larger ones before reading them whole.
pub async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<web::Bytes, BodyError> {
    let declared =
        req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_bound_to_their_form() {
        let key = CsrfKey::new(b"secret");
        let t = key.token("form-a");
        assert!(key.verify("form-a", &t));
        assert!(!key.verify("form-b", &t));
        assert!(!key.verify("form-a", "not a token"));
        assert!(!CsrfKey::new(b"other").verify("form-a", &t));
    }

    #[test]
    fn behind_a_proxy_the_address_it_added_counts_not_what_the_client_wrote() {
        let one = |h: &str| added_by_proxy(std::iter::once(h));
        assert_eq!(one("203.0.113.9"), Some(IpAddr::from([203, 0, 113, 9])));
        // A client writes a fake first entry; the proxy appends the real one.
        assert_eq!(one("1.2.3.4, 203.0.113.9"), Some(IpAddr::from([203, 0, 113, 9])));
        assert_eq!(added_by_proxy(["6.6.6.6", "203.0.113.9:5123"].into_iter()), Some(IpAddr::from([203, 0, 113, 9])));
        assert_eq!(one("1.2.3.4, [2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(one("2001:db8::2"), "2001:db8::2".parse().ok());
        assert_eq!(one("1.2.3.4, inte-en-adress"), None);
    }

    #[test]
    fn addresses_no_longer_held_back_are_forgotten() {
        // One attempt per second. An address's entry is forgotten once it is indistinguishable
        // from a fresh one: the limiter counts that from a full period after its last attempt.
        let quick: MissLimiter = RateLimiter::keyed(Quota::per_second(NonZeroU32::new(1).unwrap()));
        for i in 0..1000u32 {
            let _ = quick.check_key(&IpAddr::from(i.to_be_bytes()));
        }
        assert_eq!(quick.len(), 1000);
        forget_old_keys(&[&quick, &miss_limiter(1)], &unknown_login_limiter());
        assert_eq!(quick.len(), 1000, "still held back: kept");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        forget_old_keys(&[&quick, &miss_limiter(1)], &unknown_login_limiter());
        assert_eq!(quick.len(), 0);
    }
}
