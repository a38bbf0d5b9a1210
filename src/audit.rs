//! The audit log: what coordinators did, for the record. An entry names who, what, when,
//! which round and how many recipients, never an answer or a token. It is stored in the
//! same transaction as the action it records (`store::Tx::audit`).

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub round_key: Option<String>,
    pub recipients: Option<i64>,
    pub detail: String,
}

impl Entry {
    pub fn new(actor: &str, action: &str) -> Entry {
        Entry {
            at: jiff::Timestamp::now().as_second(),
            actor: actor.to_string(),
            action: action.to_string(),
            round_key: None,
            recipients: None,
            detail: String::new(),
        }
    }

    /// The actor named for an action taken on the server's command line, by the
    /// operating-system user.
    pub fn command_line_actor() -> String {
        let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default();
        format!("kommandoraden{}", if user.is_empty() { String::new() } else { format!(" ({user})") })
    }

    pub fn round(mut self, key: &str) -> Entry {
        self.round_key = Some(key.to_string());
        self
    }

    pub fn recipients(mut self, n: usize) -> Entry {
        self.recipients = Some(n as i64);
        self
    }

    pub fn detail(mut self, text: impl Into<String>) -> Entry {
        self.detail = text.into();
        self
    }
}
