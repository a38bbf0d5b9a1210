//! Settings, from environment variables with defaults that work on a fresh machine.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database: a SQLite file (the default) or a postgres:// URL.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/lagesbild.db", global = true)]
    pub database_url: String,

    /// A folder of survey definitions; each file there replaces (or adds to) the shipped ones.
    #[arg(long, env = "SURVEYS_DIR", global = true)]
    pub surveys_dir: Option<PathBuf>,

    /// A folder of page, email and report templates; each file there replaces the shipped one
    /// of the same name (for example `email/invitation.txt.hbs`).
    #[arg(long, env = "TEMPLATES_DIR", global = true)]
    pub templates_dir: Option<PathBuf>,

    /// The address respondents' links start with, as seen from their browsers.
    #[arg(long, env = "BASE_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub base_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,

    /// Wrong links tolerated per minute from one address before it is slowed down.
    #[arg(long, env = "MISSES_PER_MINUTE", default_value_t = 20)]
    pub misses_per_minute: u32,

    /// Take the client address from X-Forwarded-For: the entry the proxy appended, the
    /// rightmost (only behind a proxy that appends it).
    #[arg(long, env = "BEHIND_PROXY", default_value_t = false)]
    pub behind_proxy: bool,

    /// Seconds between rewrites of the response tables on PostgreSQL (see the migrations' README).
    #[arg(long, env = "CONCEAL_EVERY_SECONDS", default_value_t = 300)]
    pub conceal_every_seconds: u64,

    /// Seconds between the server's records-management passes (gallring, see src/gallring.rs);
    /// it also runs one at start.
    #[arg(long, env = "GALLRING_CHECK_SECONDS", default_value_t = 3600)]
    pub gallring_check_seconds: u64,

    /// Worker threads for HTTP (default: half the cores on SQLite, whose queries run on
    /// threads of their own; all the cores on PostgreSQL).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,

    /// Minutes without a request after which an admin session ends.
    #[arg(long, env = "SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,

    /// Login attempts per minute from one address before it is slowed down. Attempts, not only
    /// failures: a guesser must not learn from a different answer that a guess was right.
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 20)]
    pub login_attempts_per_minute: u32,

    /// The key respondents' drafts are sealed under, kept outside the database; made on
    /// first start. Keep it out of database backups, and keep it (without it, saved drafts
    /// cannot be read; submitted responses are not sealed and stay readable).
    #[arg(long, env = "DRAFT_KEY_FILE", default_value = "data/draft.key")]
    pub draft_key_file: std::path::PathBuf,

    /// Where to serve `/metrics` (Prometheus text format), e.g. 127.0.0.1:9464. Unset: not
    /// served. Never the public address: bind it where only the monitoring can reach.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Largest roster file accepted by the admin pages, in bytes.
    #[arg(long, env = "UPLOAD_LIMIT", default_value_t = 10 * 1024 * 1024)]
    pub upload_limit: usize,
}

impl Settings {
    /// The templates: shipped, with TEMPLATES_DIR's files over them.
    pub fn templates(&self) -> anyhow::Result<crate::shipped::Files> {
        crate::shipped::Files::templates(self.templates_dir.as_deref())
    }

    /// The survey catalogue: shipped, with SURVEYS_DIR's files over them, every file checked.
    pub fn surveys(&self) -> anyhow::Result<std::collections::BTreeMap<String, crate::survey::Definition>> {
        let files = crate::shipped::Files::surveys(self.surveys_dir.as_deref())?;
        crate::survey::load(&files).map_err(|p| anyhow::anyhow!("{}", p.join("\n")))
    }

    pub fn link(&self, token: &crate::token::Token) -> String {
        format!("{}/s/{token}", self.base_url.trim_end_matches('/'))
    }
}

/// How emails leave: through an SMTP relay, or as .eml files when none is named.
#[derive(Debug, Clone, Args)]
pub struct MailSettings {
    /// SMTP relay: smtp://user:password@host:587 (STARTTLS), smtps://host:465 (TLS), or
    /// smtp://host:25?tls=none (no encryption, for a relay on the same machine).
    /// Unset: every email is written as an .eml file to MAIL_OUTBOX_DIR.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// A PEM file with the CA certificate that signed the relay's certificate, for a relay
    /// whose certificate comes from the organisation's own CA. The system's trust store is
    /// always used as well.
    #[arg(long, env = "SMTP_CA_FILE", global = true)]
    pub smtp_ca_file: Option<PathBuf>,

    /// Sender address of invitations and reminders.
    #[arg(long, env = "MAIL_FROM", default_value = "lagesbild@localhost", global = true)]
    pub mail_from: String,

    /// Sender name shown to recipients.
    #[arg(long, env = "MAIL_FROM_NAME", default_value = "Lägesbild", global = true)]
    pub mail_from_name: String,

    /// Where emails are written when SMTP_URL is unset.
    #[arg(long, env = "MAIL_OUTBOX_DIR", default_value = "data/outbox", global = true)]
    pub mail_outbox_dir: PathBuf,

    /// Fewest days between two reminders to the same recipient.
    #[arg(long, env = "REMINDER_MIN_DAYS", default_value_t = 3, global = true)]
    pub reminder_min_days: u32,

    /// Emails sent at the same time (also the size of the SMTP connection pool). Kept below the
    /// 20 connections per client that common relays allow.
    #[arg(long, env = "MAIL_CONCURRENCY", default_value_t = 16, global = true)]
    pub mail_concurrency: usize,

    /// Seconds before the first retry after a temporary failure; each further retry waits twice as long.
    #[arg(long, env = "MAIL_RETRY_SECONDS", default_value_t = 60, global = true)]
    pub mail_retry_seconds: u64,

    /// Attempts before a temporarily failing email is given up and recorded as failed.
    #[arg(long, env = "MAIL_MAX_ATTEMPTS", default_value_t = 8, global = true)]
    pub mail_max_attempts: u32,

    /// Seconds a worker may hold an email it is sending; one still held after that was
    /// interrupted (the process died) and is recorded as uncertain, never resent blindly.
    #[arg(long, env = "MAIL_CLAIM_SECONDS", default_value_t = 300, global = true)]
    pub mail_claim_seconds: u64,

    /// Seconds between the server's checks of the rounds' reminder schedules.
    #[arg(long, env = "REMINDER_CHECK_SECONDS", default_value_t = 300, global = true)]
    pub reminder_check_seconds: u64,
}

impl MailSettings {
    /// The settings from the environment and the defaults, as the command line would take them.
    pub fn defaults() -> MailSettings {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            mail: MailSettings,
        }
        <Only as clap::Parser>::parse_from(["lagesbild"]).mail
    }
}
