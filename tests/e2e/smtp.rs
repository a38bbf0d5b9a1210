//! A small SMTP server on a free loopback port, started by each test that sends email:
//! a real server that lettre talks to over TCP, with scripted replies (a 4xx for the first
//! messages, a 5xx for some addresses, a reply held back while the test kills the sender).
//! Also used by the invitations benchmark.

#![allow(dead_code)]

use base64::Engine as _;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// An email as the server took it.
#[derive(Debug, Clone)]
pub struct Received {
    /// When the relay accepted it.
    pub at: std::time::Instant,
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Replies to the end of DATA for the next messages, before plain acceptance.
    data_replies: VecDeque<String>,
    /// Addresses refused at RCPT TO with this reply.
    refused: HashMap<String, String>,
    /// RCPT TO commands seen, per address (refused or not).
    rcpt_seen: HashMap<String, usize>,
    /// Messages whose end of DATA was answered with something other than 250.
    data_refused: usize,
    /// The n-th message (1-based) gets no reply until released: the sender is stuck mid-send.
    hold_at: Option<usize>,
    holding: bool,
    /// The next messages are taken whole, and then the line is dropped before the reply.
    drop_after_data: usize,
    messages_seen: usize,
}

#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    release: Arc<Notify>,
    /// With a certificate, STARTTLS is offered (and the server speaks TLS after it).
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// A connection, before or after STARTTLS.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for S {}

/// A certificate authority of the test's own, as a city has, and a relay certificate for
/// `localhost` that it signed.
pub struct OwnCa {
    pub ca_pem: String,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl OwnCa {
    pub fn new() -> OwnCa {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Stadens egen CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let relay_key = rcgen::KeyPair::generate().unwrap();
        let relay = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&relay_key, &rcgen::Issuer::from_params(&ca_params, &ca_key))
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(relay_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![relay.der().clone()], key)
            .unwrap();
        OwnCa { ca_pem: ca.pem(), acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) }
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::listen(None).await
    }

    /// A relay that offers STARTTLS with a certificate from `ca`.
    pub async fn start_with_tls(ca: &OwnCa) -> SmtpServer {
        SmtpServer::listen(Some(ca.acceptor.clone())).await
    }

    async fn listen(tls: Option<tokio_rustls::TlsAcceptor>) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = SmtpServer {
            port: listener.local_addr().unwrap().port(),
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
            release: Arc::new(Notify::new()),
            tls,
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(Box::new(socket), true).await;
                });
            }
        });
        server
    }

    /// The URL to give the sender (a loopback relay: no TLS).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The next messages get these replies to their data (e.g. "451 4.3.0 try again later").
    pub fn reply_to_next_messages(&self, replies: &[&str]) {
        self.state.lock().unwrap().data_replies.extend(replies.iter().map(|r| r.to_string()));
    }

    pub fn refuse(&self, address: &str, reply: &str) {
        self.state.lock().unwrap().refused.insert(address.to_lowercase(), reply.to_string());
    }

    /// The next `n` messages arrive whole, and the connection closes before the "250".
    pub fn drop_after_data(&self, n: usize) {
        self.state.lock().unwrap().drop_after_data = n;
    }

    pub fn hold_message(&self, n: usize) {
        self.state.lock().unwrap().hold_at = Some(n);
    }

    pub fn release_hold(&self) {
        self.release.notify_waiters();
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// How many accepted emails were addressed to each address.
    pub fn per_address(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in self.received() {
            for to in r.to {
                *counts.entry(to).or_default() += 1;
            }
        }
        counts
    }

    pub fn rcpt_seen(&self, address: &str) -> usize {
        self.state.lock().unwrap().rcpt_seen.get(address).copied().unwrap_or(0)
    }

    pub fn data_refused(&self) -> usize {
        self.state.lock().unwrap().data_refused
    }

    pub fn holding(&self) -> bool {
        self.state.lock().unwrap().holding
    }

    /// Waits (at most `seconds`) until the condition on the server holds.
    pub async fn wait_until(&self, seconds: u64, what: &str, condition: impl Fn(&SmtpServer) -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let changed = self.changed.notified();
            if condition(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                assert!(condition(self), "waited {seconds} s for {what}; received {} emails", self.received().len());
                return;
            }
        }
    }

    /// One connection; after STARTTLS the same conversation goes on over TLS, without a new greeting.
    fn session(
        &self,
        socket: Box<dyn Stream>,
        greet: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send + '_>> {
        Box::pin(async move {
            let (read, mut write) = tokio::io::split(socket);
            let mut lines = BufReader::new(read);
            if greet {
                write.write_all(b"220 127.0.0.1 ESMTP test\r\n").await?;
            }
            let (mut from, mut to) = (String::new(), Vec::<String>::new());
            let mut line = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let command = line.trim_end().to_string();
                let verb = command.split([' ', ':']).next().unwrap_or("").to_uppercase();
                let reply = match verb.as_str() {
                    "EHLO" if self.tls.is_some() && greet => {
                        "250-127.0.0.1\r\n250-8BITMIME\r\n250 STARTTLS".to_string()
                    }
                    "EHLO" => "250-127.0.0.1\r\n250 8BITMIME".to_string(),
                    "STARTTLS" if greet && self.tls.is_some() => {
                        write.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                        let plain = lines.into_inner().unsplit(write);
                        let secured = self.tls.as_ref().unwrap().accept(plain).await?;
                        return self.session(Box::new(secured), false).await;
                    }
                    "HELO" | "NOOP" => "250 OK".to_string(),
                    "RSET" => {
                        (from, to) = (String::new(), Vec::new());
                        "250 OK".to_string()
                    }
                    "MAIL" => {
                        from = address_in(&command);
                        to.clear();
                        "250 OK".to_string()
                    }
                    "RCPT" => {
                        let address = address_in(&command);
                        let mut state = self.state.lock().unwrap();
                        *state.rcpt_seen.entry(address.clone()).or_default() += 1;
                        match state.refused.get(&address) {
                            Some(refusal) => refusal.clone(),
                            None => {
                                to.push(address);
                                "250 OK".to_string()
                            }
                        }
                    }
                    "DATA" => {
                        write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if lines.read_line(&mut line).await? == 0 {
                                return Ok(());
                            }
                            if line == ".\r\n" || line == ".\n" {
                                break;
                            }
                            data.push_str(line.strip_prefix('.').unwrap_or(&line));
                        }
                        let message = Received {
                            at: std::time::Instant::now(),
                            from: from.clone(),
                            to: std::mem::take(&mut to),
                            data,
                        };
                        if self.taken_then_dropped(&message) {
                            return Ok(());
                        }
                        self.message_complete(message).await
                    }
                    "QUIT" => {
                        write.write_all(b"221 Bye\r\n").await?;
                        return Ok(());
                    }
                    _ => "502 Command not implemented".to_string(),
                };
                write.write_all(format!("{reply}\r\n").as_bytes()).await?;
            }
        })
    }

    /// Whether this message is kept without a reply, its connection dropped.
    fn taken_then_dropped(&self, message: &Received) -> bool {
        let mut state = self.state.lock().unwrap();
        if state.drop_after_data == 0 {
            return false;
        }
        state.drop_after_data -= 1;
        state.messages_seen += 1;
        state.received.push(message.clone());
        drop(state);
        self.changed.notify_waiters();
        true
    }

    /// The reply to the end of a message's data; records it if accepted (or held).
    async fn message_complete(&self, message: Received) -> String {
        let (reply, hold) = {
            let mut state = self.state.lock().unwrap();
            state.messages_seen += 1;
            if let Some(reply) = state.data_replies.pop_front() {
                state.data_refused += 1;
                (reply, false)
            } else {
                let hold = state.hold_at == Some(state.messages_seen);
                state.holding |= hold;
                state.received.push(message);
                ("250 OK queued".to_string(), hold)
            }
        };
        self.changed.notify_waiters();
        if hold {
            // The message is here, but the sender does not hear so until the test releases it.
            self.release.notified().await;
            self.state.lock().unwrap().holding = false;
        }
        reply
    }
}

fn address_in(command: &str) -> String {
    command.split('<').nth(1).and_then(|s| s.split('>').next()).unwrap_or("").to_lowercase()
}

/// An email's parts, decoded: headers by lower-case name, and the text of each MIME part by type.
#[derive(Debug)]
pub struct Email {
    pub headers: HashMap<String, String>,
    pub parts: HashMap<String, String>,
}

impl Email {
    pub fn parse(data: &str) -> Email {
        let data = data.replace("\r\n", "\n");
        let (head, body) = data.split_once("\n\n").unwrap();
        let headers = parse_headers(head);
        let content_type = headers.get("content-type").cloned().unwrap_or_default();
        let mut parts = HashMap::new();
        let boundary = content_type.split("boundary=").nth(1).expect("a multipart email").trim_matches('"').to_string();
        for part in body.split(&format!("--{boundary}")).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let Some((head, content)) = part.trim_start_matches('\n').split_once("\n\n") else { continue };
            let h = parse_headers(head);
            let kind = h
                .get("content-type")
                .unwrap_or_else(|| panic!("a part without a type: {part:?}"))
                .split(';')
                .next()
                .unwrap()
                .trim()
                .to_string();
            let text = match h.get("content-transfer-encoding").map(|s| s.to_lowercase()).as_deref() {
                Some("base64") => String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(content.split_whitespace().collect::<String>())
                        .unwrap(),
                )
                .unwrap(),
                Some("quoted-printable") => quoted_printable(content),
                _ => content.to_string(),
            };
            parts.insert(kind, text);
        }
        Email { headers, parts }
    }

    pub fn subject(&self) -> String {
        self.headers.get("subject").cloned().unwrap_or_default()
    }

    /// The personal link in a part.
    pub fn link(&self, part: &str) -> String {
        let text = &self.parts[part];
        let start = text.find("http://").expect("a link in the email");
        text[start..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap().to_string()
    }
}

fn parse_headers(head: &str) -> HashMap<String, String> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_lowercase(), value.trim().to_string()));
        }
    }
    headers.into_iter().map(|(n, v)| (n, decode_words(&v))).collect()
}

/// RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) in a header value.
fn decode_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_string();
    }
    let mut out = Vec::new();
    for word in value.split_whitespace() {
        let inner = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?="));
        match inner.map(|w| w.splitn(3, '?').collect::<Vec<_>>()) {
            Some(p) if p.len() == 3 && p[1].eq_ignore_ascii_case("b") => {
                out.extend(base64::engine::general_purpose::STANDARD.decode(p[2]).unwrap())
            }
            Some(p) if p.len() == 3 && p[1].eq_ignore_ascii_case("q") => {
                out.extend(quoted_printable(&p[2].replace('_', " ")).into_bytes())
            }
            _ => {
                if !out.is_empty() {
                    out.push(b' ');
                }
                out.extend(word.as_bytes());
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn quoted_printable(text: &str) -> String {
    let mut bytes = Vec::new();
    let text = text.replace("=\n", "");
    let raw = text.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = raw.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        if let (b'=', Some(byte)) = (raw[i], hex) {
            bytes.push(byte);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// Addresses that did not get exactly one email, for assertion messages.
pub fn not_exactly_once(counts: &HashMap<String, usize>, expected: &[String]) -> Vec<String> {
    let expected: HashSet<&String> = expected.iter().collect();
    let mut wrong: Vec<String> = expected
        .iter()
        .filter(|a| counts.get(a.as_str()).copied().unwrap_or(0) != 1)
        .map(|a| format!("{a}: {}", counts.get(a.as_str()).copied().unwrap_or(0)))
        .collect();
    wrong.extend(counts.keys().filter(|a| !expected.contains(a)).map(|a| format!("{a}: not on the roster")));
    wrong.sort();
    wrong
}
