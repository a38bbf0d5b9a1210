//! Settings, from environment variables with defaults that work on a fresh machine.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database: a SQLite file (the default) or a postgres:// URL.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/lagesbild.db", global = true)]
    pub database_url: String,

    /// Folder of survey definitions.
    #[arg(long, env = "SURVEYS_DIR", default_value = "surveys", global = true)]
    pub surveys_dir: PathBuf,

    /// Folder of page, email and report templates.
    #[arg(long, env = "TEMPLATES_DIR", default_value = "templates", global = true)]
    pub templates_dir: PathBuf,

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

    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long, env = "BEHIND_PROXY", default_value_t = false)]
    pub behind_proxy: bool,

    /// Seconds between rewrites of the response tables on PostgreSQL (see the migrations' README).
    #[arg(long, env = "CONCEAL_EVERY_SECONDS", default_value_t = 300)]
    pub conceal_every_seconds: u64,

    /// Worker threads for HTTP (defaults to the number of cores).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
}

impl Settings {
    pub fn link(&self, token: &str) -> String {
        format!("{}/s/{token}", self.base_url.trim_end_matches('/'))
    }
}
