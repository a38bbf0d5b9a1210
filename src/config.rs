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

    /// Incident reports taken per hour from one address (kept in memory only, never stored),
    /// besides each reporting link's cap per day.
    #[arg(long, env = "REPORTS_PER_ADDRESS_PER_HOUR", default_value_t = 20)]
    pub reports_per_address_per_hour: u32,

    /// Months an incident report's description is kept after the month observed; then the
    /// records pass deletes it (what was seen, where and when stays, and so do the counts).
    #[arg(long, env = "INCIDENT_TEXT_MONTHS", default_value_t = 36)]
    pub incident_text_months: u32,

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

    #[command(flatten)]
    pub sign_in: SignInSettings,
}

/// How staff sign in: with a password, through the city's identity provider (OpenID
/// Connect), or both.
#[derive(Debug, Clone, Args)]
pub struct SignInSettings {
    /// The identity provider's issuer, exactly as its discovery document spells it (e.g.
    /// https://login.microsoftonline.com/<tenant>/v2.0). Unset: no sign-in through a provider.
    #[arg(long, env = "OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// The client id the provider gave this service.
    #[arg(long, env = "OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// The client secret the provider gave this service.
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,

    /// The claim that lists the person's groups or roles: `groups` or `roles`.
    #[arg(long, env = "OIDC_ROLE_CLAIM", default_value = "groups")]
    pub oidc_role_claim: String,

    /// The scopes asked for, comma-separated ("openid" always). Entra ID: openid,email,profile
    /// (its groups or app roles come with the token configuration, not with a scope).
    #[arg(long, env = "OIDC_SCOPES", default_value = "openid,email,groups", value_delimiter = ',')]
    pub oidc_scopes: Vec<String>,

    /// Sign in only with an address the provider says it has verified (`email_verified`).
    /// `false` trusts the email claim of a provider that never says (Entra ID, whose
    /// addresses are the organisation's own).
    #[arg(long, env = "OIDC_REQUIRE_EMAIL_VERIFIED", default_value_t = true, action = clap::ArgAction::Set)]
    pub oidc_require_email_verified: bool,

    /// Values of that claim that make a coordinator, comma-separated.
    #[arg(long, env = "OIDC_COORDINATORS", default_value = "lagesbild-samordnare", value_delimiter = ',')]
    pub oidc_coordinators: Vec<String>,

    /// Values of that claim that make an analyst, comma-separated.
    #[arg(long, env = "OIDC_ANALYSTS", default_value = "lagesbild-analytiker", value_delimiter = ',')]
    pub oidc_analysts: Vec<String>,

    /// Whether staff may also sign in with a password. Turn it off once everyone signs in
    /// through the provider.
    #[arg(long, env = "PASSWORD_LOGIN", default_value_t = true, action = clap::ArgAction::Set)]
    pub password_login: bool,
}

impl Default for SignInSettings {
    /// Passwords only, the provider's settings at their defaults.
    fn default() -> SignInSettings {
        SignInSettings {
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_role_claim: "groups".into(),
            oidc_scopes: vec!["openid".into(), "email".into(), "groups".into()],
            oidc_require_email_verified: true,
            oidc_coordinators: vec!["lagesbild-samordnare".into()],
            oidc_analysts: vec!["lagesbild-analytiker".into()],
            password_login: true,
        }
    }
}

/// A provider as the server uses it: every setting present and checked.
#[derive(Debug, Clone)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub require_email_verified: bool,
    pub roles: crate::account::RoleMapping,
}

impl SignInSettings {
    /// The provider, if one is configured; an error naming the setting that is missing or wrong.
    pub fn provider(&self) -> anyhow::Result<Option<Provider>> {
        let Some(issuer) = self.oidc_issuer.clone().filter(|i| !i.trim().is_empty()) else {
            anyhow::ensure!(
                self.password_login,
                "PASSWORD_LOGIN=false needs OIDC_ISSUER: otherwise nobody can sign in"
            );
            return Ok(None);
        };
        let url = url::Url::parse(&issuer).map_err(|e| anyhow::anyhow!("OIDC_ISSUER `{issuer}` is not a URL: {e}"))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        anyhow::ensure!(url.scheme() == "https" || loopback, "OIDC_ISSUER must start with https:// (`{issuer}`)");
        let client_id = self.oidc_client_id.clone().filter(|v| !v.is_empty());
        let client_secret = self.oidc_client_secret.clone().filter(|v| !v.is_empty());
        let (Some(client_id), Some(client_secret)) = (client_id, client_secret) else {
            anyhow::bail!("OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are needed too");
        };
        let claim = match self.oidc_role_claim.as_str() {
            "groups" => crate::account::RoleClaim::Groups,
            "roles" => crate::account::RoleClaim::Roles,
            other => anyhow::bail!("OIDC_ROLE_CLAIM must be `groups` or `roles`, not `{other}`"),
        };
        let values = |v: &[String]| v.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        let roles = crate::account::RoleMapping {
            claim,
            coordinators: values(&self.oidc_coordinators),
            analysts: values(&self.oidc_analysts),
        };
        let scopes = values(&self.oidc_scopes);
        Ok(Some(Provider {
            issuer,
            client_id,
            client_secret,
            scopes,
            require_email_verified: self.oidc_require_email_verified,
            roles,
        }))
    }
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

    /// The incident report form (`surveys/incidenter/blankett.toml`, or SURVEYS_DIR's), checked
    /// like a questionnaire and for the questions the incident list reads.
    pub fn incident_form(&self) -> anyhow::Result<crate::incident::Form> {
        let files = crate::shipped::Files::surveys(self.surveys_dir.as_deref())?;
        let (source, origin) = files
            .get(crate::incident::FORM_FILE)
            .ok_or_else(|| anyhow::anyhow!("the incident form {} is missing", crate::incident::FORM_FILE))?;
        let survey = crate::survey::parse_new(source).map_err(|p| {
            anyhow::anyhow!("{}", p.iter().map(|p| format!("{origin}:{p}")).collect::<Vec<_>>().join("\n"))
        })?;
        let form = crate::incident::Form::new(survey).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        let catalogue = crate::survey::load(&files).map_err(|p| anyhow::anyhow!("{}", p.join("\n")))?;
        for definition in catalogue.values() {
            if let Some(difference) = form.differences(&definition.survey) {
                tracing::warn!("{origin}: {difference}");
            }
        }
        Ok(form)
    }

    /// The reporting link of a token.
    pub fn report_link(&self, token: &crate::token::Token) -> String {
        format!("{}/rapportera/{token}", self.base_url.trim_end_matches('/'))
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

    /// At most this many emails a minute, spread evenly (the relay's limit; Exchange Online: 30).
    /// Unset: as fast as the connections allow. Kept across instances sharing a database.
    #[arg(long, env = "MAIL_PER_MINUTE", global = true)]
    pub mail_per_minute: Option<u32>,

    /// At most this many emails in any 24 hours (Exchange Online: 10000). Unset: no daily limit.
    #[arg(long, env = "MAIL_PER_DAY", global = true)]
    pub mail_per_day: Option<u32>,

    /// Seconds every sender pauses when the relay answers "too many messages" (421/450/452
    /// with a rate text); the email is tried again after, its attempt not counted.
    #[arg(long, env = "MAIL_SLOW_DOWN_SECONDS", default_value_t = 60, global = true)]
    pub mail_slow_down_seconds: u64,

    /// Seconds between the server's checks of the rounds' reminder schedules.
    #[arg(long, env = "REMINDER_CHECK_SECONDS", default_value_t = 300, global = true)]
    pub reminder_check_seconds: u64,
}

impl MailSettings {
    pub fn pace(&self) -> crate::outbox::pace::Pace {
        crate::outbox::pace::Pace {
            per_minute: self.mail_per_minute.filter(|n| *n > 0),
            per_day: self.mail_per_day.filter(|n| *n > 0),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(issuer: &str, id: &str, secret: &str) -> SignInSettings {
        SignInSettings {
            oidc_issuer: Some(issuer.into()),
            oidc_client_id: Some(id.into()),
            oidc_client_secret: Some(secret.into()),
            ..SignInSettings::default()
        }
    }

    #[test]
    fn a_provider_needs_https_a_client_and_a_known_claim() {
        assert!(with("https://login.stad.example/realms/stad", "lagesbild", "s").provider().unwrap().is_some());
        assert!(with("http://127.0.0.1:9000", "lagesbild", "s").provider().unwrap().is_some(), "loopback for tests");
        let said = |s: SignInSettings| s.provider().unwrap_err().to_string();
        assert!(said(with("http://login.stad.example", "lagesbild", "s")).contains("https://"));
        assert!(said(with("https://login.stad.example", "lagesbild", "")).contains("OIDC_CLIENT_SECRET"));
        let roles = SignInSettings { oidc_role_claim: "roller".into(), ..with("https://login.stad.example", "a", "s") };
        assert!(said(roles).contains("OIDC_ROLE_CLAIM"));
        let nobody = SignInSettings { password_login: false, ..SignInSettings::default() };
        assert!(said(nobody).contains("PASSWORD_LOGIN=false"));
        assert!(SignInSettings::default().provider().unwrap().is_none());
    }
}
