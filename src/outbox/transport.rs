//! Where emails go: an SMTP relay through a pool of connections, or .eml files in a folder
//! when no relay is configured (a first run needs no mail server, and the coordinator can
//! open what would have been sent).

use super::{Failure, redact, relay_url};
use crate::config::MailSettings;
use anyhow::Context;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

pub enum Transport {
    Relay { smtp: AsyncSmtpTransport<Tokio1Executor>, shown: String },
    Files(PathBuf),
}

impl Transport {
    pub fn from_settings(mail: &MailSettings) -> anyhow::Result<Transport> {
        match &mail.smtp_url {
            Some(url) if !url.trim().is_empty() => {
                let url = relay_url(url.trim()).map_err(anyhow::Error::msg)?;
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .with_context(|| format!("SMTP_URL `{}` cannot be used", redact(&url)))?
                    .timeout(Some(Duration::from_secs(60)))
                    .pool_config(PoolConfig::new().max_size(mail.mail_concurrency.max(1) as u32))
                    .build();
                Ok(Transport::Relay { smtp, shown: redact(&url) })
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
            Transport::Relay { shown, .. } => format!("via {shown}"),
            Transport::Files(dir) => format!("som .eml-filer i {} (SMTP_URL är inte satt)", dir.display()),
        }
    }

    /// Hands one email over. `Ok` means the relay accepted it (or the file is complete).
    pub async fn deliver(&self, name: &str, message: &Message) -> Result<(), Failure> {
        match self {
            Transport::Relay { smtp, .. } => smtp.send(message.clone()).await.map(|_| ()).map_err(|e| {
                let reply = format!("{e}");
                if e.is_permanent() {
                    Failure::Permanent(format!("servern vägrade: {reply}"))
                } else {
                    Failure::Temporary(format!("tillfälligt fel: {reply}"))
                }
            }),
            Transport::Files(dir) => {
                // Written beside, then renamed: a file in the folder is always a whole email.
                let path = dir.join(format!("{name}.eml"));
                let partial = dir.join(format!(".{name}.eml.tmp"));
                let bytes = message.formatted();
                let write = async {
                    tokio::fs::write(&partial, &bytes).await?;
                    tokio::fs::rename(&partial, &path).await
                };
                write.await.map_err(|e| Failure::Temporary(format!("kunde inte skriva {}: {e}", path.display())))
            }
        }
    }
}
