//! Where emails go: an SMTP relay (`relay`), or .eml files in a folder when no relay is
//! configured (a first run needs no mail server, and the coordinator can open what would have
//! been sent).

use super::Failure;
use super::relay::Relay;
use crate::config::MailSettings;
use anyhow::Context;
use lettre::address::Envelope;
use std::path::PathBuf;

pub enum Transport {
    Relay(Relay),
    Files(PathBuf),
}

/// One email ready to go: the envelope and the bytes, rendered before anything is handed over.
pub struct Outgoing {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

impl Transport {
    pub fn from_settings(mail: &MailSettings) -> anyhow::Result<Transport> {
        match &mail.smtp_url {
            Some(url) if !url.trim().is_empty() => {
                let relay = Relay::from_url(url.trim(), mail.smtp_ca_file.as_deref(), mail.mail_concurrency)
                    .map_err(anyhow::Error::msg)?;
                Ok(Transport::Relay(relay))
            }
            _ => {
                let dir = mail.mail_outbox_dir.clone();
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
                Ok(Transport::Files(dir))
            }
        }
    }

    /// Where emails go, for a coordinator to read.
    pub fn describe(&self) -> String {
        match self {
            Transport::Relay(relay) => format!("via {}", relay.shown),
            Transport::Files(dir) => format!("som .eml-filer i {} (SMTP_URL är inte satt)", dir.display()),
        }
    }

    /// Where emails go, for the log (which is in English).
    pub fn log_target(&self) -> String {
        match self {
            Transport::Relay(relay) => relay.shown.clone(),
            Transport::Files(dir) => format!("{} (.eml files: SMTP_URL is not set)", dir.display()),
        }
    }

    /// Hands one email over. `Ok` means the relay accepted it (or the file is complete).
    pub async fn deliver(&self, name: &str, email: &Outgoing) -> Result<(), Failure> {
        match self {
            Transport::Relay(relay) => relay.send(&email.envelope, &email.bytes).await,
            Transport::Files(dir) => {
                // Written beside, then renamed: a file in the folder is always a whole email.
                let path = dir.join(format!("{name}.eml"));
                let partial = dir.join(format!(".{name}.eml.tmp"));
                let write = async {
                    tokio::fs::write(&partial, &email.bytes).await?;
                    tokio::fs::rename(&partial, &path).await
                };
                write.await.map_err(|e| Failure::Temporary(format!("kunde inte skriva {}: {e}", path.display())))
            }
        }
    }
}
