//! The SMTP relay, spoken to in stages so that the one moment that matters is known: until
//! the relay has the whole email (MAIL, RCPT, DATA), a failure means it has nothing and the
//! email can be tried again; once the email's data was handed over, a broken line or a missing
//! reply means it may well have arrived, so it is recorded as uncertain and never resent blindly.
//!
//! Certificates are checked against the system's trust store (`/etc/ssl/certs` and the like),
//! plus `SMTP_CA_FILE` for a relay whose certificate comes from the city's own CA.

use super::Failure;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the line to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// Clear text: only for a relay on the same machine (`tls=none`).
    None,
    /// STARTTLS; `required` refuses a relay that does not offer it.
    StartTls { required: bool },
    /// TLS from the first byte (`smtps://`).
    Wrapper,
}

pub struct Relay {
    host: String,
    port: u16,
    security: Security,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    /// Open connections between emails, at most `keep` of them, with when each fell idle.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    keep: usize,
    /// The URL without its password, for messages.
    pub shown: String,
}

/// A kept connection older than this is closed rather than reused: relays and firewalls drop
/// idle connections without a word.
const IDLE_FOR_AT_MOST: Duration = Duration::from_secs(60);

/// How long a kept connection may take to answer NOOP before it counts as gone.
const NOOP_WITHIN: Duration = Duration::from_secs(10);

const HINT: &str = "SMTP_URL must look like smtp://user:password@host:587, smtps://host:465 or smtp://host:25?tls=none";

impl Relay {
    /// The relay `SMTP_URL` names. `smtp://` means STARTTLS unless the URL says `tls=none`, so a
    /// password never crosses the network unencrypted by accident.
    pub fn from_url(text: &str, ca_file: Option<&Path>, keep: usize) -> Result<Relay, String> {
        let shown = redact(text);
        let url = url::Url::parse(text).map_err(|e| format!("`{shown}` is not a URL ({e}). {HINT}"))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("SMTP_URL `{shown}` names no host. {HINT}"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("required")) => (Security::StartTls { required: true }, 587),
            ("smtp", Some("opportunistic")) => (Security::StartTls { required: false }, 587),
            ("smtp", Some("none")) => (Security::None, 25),
            ("smtps", None) => (Security::Wrapper, 465),
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "SMTP_URL has tls={other}; use tls=required (the default), tls=opportunistic or tls=none"
                ));
            }
            (other, _) => return Err(format!("SMTP_URL has the scheme `{other}`. {HINT}")),
        };
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = url.password().map(|p| Credentials::new(decode(url.username()), decode(p)));
        let tls = match security {
            Security::None => None,
            _ => Some(tls_parameters(&host, ca_file)?),
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        Ok(Relay {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            tls,
            credentials,
            hello,
            timeout: Duration::from_secs(60),
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
            shown,
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let wrapper = (self.security == Security::Wrapper).then(|| self.tls.clone()).flatten();
        let address = (self.host.as_str(), self.port);
        let mut conn = AsyncSmtpConnection::connect_tokio1(address, Some(self.timeout), &self.hello, wrapper, None)
            .await
            .map_err(|e| before_data(&e))?;
        if let (Security::StartTls { required }, Some(tls)) = (self.security, &self.tls) {
            if conn.can_starttls() {
                conn.starttls(tls.clone(), &self.hello).await.map_err(|e| before_data(&e))?;
            } else if required {
                conn.abort().await;
                return Err(Failure::Permanent(format!(
                    "servern {} erbjuder inte STARTTLS. Använd tls=opportunistic eller tls=none i SMTP_URL bara om förbindelsen är skyddad på annat sätt.",
                    self.shown
                )));
            }
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await.map_err(|e| before_data(&e))?;
        }
        Ok(conn)
    }

    /// An open connection: one kept from an earlier email if it is recent and still answers,
    /// else a new one. Every step has a time limit: a relay that stops answering must not hold
    /// a sender (and its claimed email) for ever.
    async fn connection(&self) -> Result<AsyncSmtpConnection, Failure> {
        loop {
            let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((mut conn, since)) = kept else {
                return match tokio::time::timeout(self.timeout, self.connect()).await {
                    Ok(connected) => connected,
                    Err(_) => Err(Failure::Temporary(format!(
                        "tillfälligt fel: {} svarade inte inom {} s",
                        self.shown,
                        self.timeout.as_secs()
                    ))),
                };
            };
            let fresh = since.elapsed() < IDLE_FOR_AT_MOST;
            if fresh && tokio::time::timeout(NOOP_WITHIN, conn.test_connected()).await.unwrap_or(false) {
                return Ok(conn);
            }
            conn.abort().await;
        }
    }

    /// Hands one email to the relay. `Ok` means the relay replied 250 to its data.
    pub async fn send(&self, envelope: &Envelope, email: &[u8]) -> Result<(), Failure> {
        let mut conn = self.connection().await?;
        let server = conn.server_info();
        let mut options = Vec::new();
        let non_ascii_address =
            envelope.to().iter().chain(envelope.from()).any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii_address {
            if !server.supports_feature(Extension::SmtpUtfEight) {
                conn.abort().await;
                return Err(Failure::Permanent(
                    "adressen har tecken utanför ASCII och servern tar inte emot sådana (SMTPUTF8)".into(),
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !email.is_ascii() && server.supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        // Until the relay has said "354" to DATA it has no part of this email.
        let staged = async {
            conn.command(Mail::new(envelope.from().cloned(), options)).await?;
            for to in envelope.to() {
                conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
            }
            conn.command(Data).await
        };
        let silent = || format!("{} svarade inte inom {} s", self.shown, self.timeout.as_secs());
        match tokio::time::timeout(self.timeout, staged).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                conn.abort().await;
                return Err(before_data(&e));
            }
            Err(_) => {
                conn.abort().await;
                return Err(Failure::Temporary(format!("tillfälligt fel: {}", silent())));
            }
        }
        let handed = match tokio::time::timeout(self.timeout, conn.message(email)).await {
            Ok(handed) => handed,
            Err(_) => {
                conn.abort().await;
                return Err(Failure::Uncertain(format!(
                    "kan ha kommit fram: meddelandet lämnades men {} – kontrollera innan omsändning",
                    silent()
                )));
            }
        };
        match handed {
            Ok(_) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < self.keep && !conn.has_broken() {
                    idle.push((conn, Instant::now()));
                }
                Ok(())
            }
            // The relay answered with a code: it said what it did with the email.
            Err(e) if e.is_transient() || e.is_permanent() => {
                conn.abort().await;
                Err(before_data(&e))
            }
            Err(e) => {
                conn.abort().await;
                // The line broke while the data went over or before the reply: the relay may
                // have the whole email.
                Err(Failure::Uncertain(format!(
                    "kan ha kommit fram: förbindelsen bröts när meddelandet lämnades, innan servern svarade ({}) – kontrollera innan omsändning",
                    reply(&e)
                )))
            }
        }
    }
}

/// A failure while nothing of the email was handed over yet, or a reply with a code.
fn before_data(e: &lettre::transport::smtp::Error) -> Failure {
    if e.is_permanent() {
        Failure::Permanent(format!("servern vägrade: {}", reply(e)))
    } else if e.is_tls() || handshake_refused(e) {
        // Retrying does not mend a certificate: it is the settings that must change.
        Failure::Permanent(format!(
            "TLS-förbindelsen till servern gick inte att upprätta: {}. Kontrollera SMTP_URL, och SMTP_CA_FILE om servern har ett certifikat från en egen CA.",
            reply(e)
        ))
    } else if super::pace::asks_to_slow_down(&reply(e)) {
        Failure::SlowDown(format!("servern bad om lägre takt: {}", reply(e)))
    } else {
        Failure::Temporary(format!("tillfälligt fel: {}", reply(e)))
    }
}

/// Whether the TLS handshake failed (an untrusted or mismatched certificate, a protocol the
/// two sides do not share): lettre reports it as a connection error whose cause is the TLS
/// library's own error, wrapped in an I/O error.
fn handshake_refused(e: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let wrapped = cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if cause.is::<rustls::Error>() || wrapped.is_some_and(|inner| inner.is::<rustls::Error>()) {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The error with its causes, each said once (lettre repeats its kind, as in
/// "Connection error: Connection error: invalid peer certificate").
fn reply(e: &lettre::transport::smtp::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in e.to_string().split(": ") {
        if parts.last().map(String::as_str) != Some(part) {
            parts.push(part.to_string());
        }
    }
    parts.join(": ")
}

fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("SMTP_CA_FILE {} cannot be read: {e}", path.display()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| format!("SMTP_CA_FILE {} is not a PEM certificate: {e}", path.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| format!("the TLS settings for {host} cannot be used: {e}"))
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// A URL fit for a message: the password replaced.
pub fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(at)) if at > scheme.len() => {
            let user_info = &rest[..at - scheme.len() - 3];
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_protection_and_port_and_never_show_the_password() {
        let r = Relay::from_url("smtp://anna:hemligt@smtp.example.se", None, 1).unwrap();
        assert_eq!((r.security, r.port), (Security::StartTls { required: true }, 587));
        assert_eq!(r.shown, "smtp://anna:***@smtp.example.se");
        let r = Relay::from_url("smtp://127.0.0.1:2525?tls=none", None, 1).unwrap();
        assert_eq!((r.security, r.port, r.tls.is_none()), (Security::None, 2525, true));
        let r = Relay::from_url("smtps://smtp.example.se", None, 1).unwrap();
        assert_eq!((r.security, r.port), (Security::Wrapper, 465));
        assert!(Relay::from_url("smtp://x.se?tls=ja", None, 1).unwrap_err().contains("tls=ja"));
        assert!(Relay::from_url("http://x.se", None, 1).unwrap_err().contains("scheme `http`"));
        assert!(Relay::from_url("smtp.example.se", None, 1).unwrap_err().contains("not a URL"));
        let missing = Relay::from_url("smtp://x.se", Some(Path::new("/finns/inte.pem")), 1).unwrap_err();
        assert!(missing.contains("SMTP_CA_FILE /finns/inte.pem cannot be read"), "{missing}");
    }
}
