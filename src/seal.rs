//! Drafts sealed under a key the database does not hold. A draft is what a respondent typed
//! before submitting, stored beside their recipient id; a copy of the database file, its
//! WAL or a backup would otherwise let anyone join recipients to answers. Sealed with
//! XChaCha20-Poly1305 (a fresh random nonce per write, the recipient id as associated data,
//! so a sealed draft cannot be moved to another recipient's row), it reads as noise without
//! the key file.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;

/// Marks a sealed draft; a draft stored before drafts were sealed has no mark.
const SEALED: &str = "x1:";
const NONCE: usize = 24;

pub struct DraftKey(XChaCha20Poly1305);

impl std::fmt::Debug for DraftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DraftKey(…)")
    }
}

impl DraftKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> DraftKey {
        DraftKey(XChaCha20Poly1305::new(bytes.into()))
    }

    /// Reads the key file, or creates it (readable by its owner only) on first start.
    pub fn load_or_create(path: &Path) -> anyhow::Result<DraftKey> {
        let named = || format!("the draft key file {} (DRAFT_KEY_FILE)", path.display());
        if !path.exists() {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).with_context(named)?;
            // Written whole beside it, then linked into place: another process starting at
            // the same moment, or a crash, never sees a half-written key.
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let draft = dir.join(format!(".draft-key-{}", crate::token::random()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let written = options.open(&draft).and_then(|mut file| {
                std::io::Write::write_all(&mut file, format!("{}\n", STANDARD.encode(bytes)).as_bytes())?;
                file.sync_all()
            });
            let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
            let _ = std::fs::remove_file(&draft);
            match linked {
                Ok(()) => tracing::info!(path = %path.display(), "made a new draft key"),
                // Another process made it first: theirs is the key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(named),
            }
        }
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path)
            && std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the draft key file can be read by others than its owner: chmod 600 it");
        }
        let text = std::fs::read_to_string(path).with_context(named)?;
        let bytes: [u8; 32] = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .with_context(|| format!("{} does not hold a key: 32 bytes in base64 on one line", named()))?;
        Ok(DraftKey::from_bytes(&bytes))
    }

    /// The draft as stored: sealed, marked, in base64.
    pub fn seal(&self, recipient_id: i64, draft: &str) -> String {
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let aad = recipient_id.to_be_bytes();
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: draft.as_bytes(), aad: &aad })
            .expect("sealing into memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{SEALED}{}", STANDARD.encode(out))
    }

    /// The draft from its stored form. One stored before drafts were sealed is returned as it
    /// is (and sealed at its next save, or when the server starts).
    pub fn open(&self, recipient_id: i64, stored: &str) -> anyhow::Result<String> {
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_string());
        };
        let bytes = STANDARD.decode(sealed).context("a sealed draft is not base64")?;
        anyhow::ensure!(bytes.len() > NONCE, "a sealed draft is too short");
        let (nonce, sealed) = bytes.split_at(NONCE);
        let aad = recipient_id.to_be_bytes();
        let plain = self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &aad }).map_err(|_| {
            anyhow::anyhow!("a draft does not open with this key: DRAFT_KEY_FILE is not the key it was sealed with")
        })?;
        String::from_utf8(plain).context("an opened draft is not text")
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_draft_opens_only_with_its_key_and_for_its_recipient() {
        let key = DraftKey::from_bytes(&[7; 32]);
        let draft = r#"{"observerat":["ja"],"ovrigt":["Åsa såg klotter"]}"#;
        let a = key.seal(41, draft);
        let b = key.seal(41, draft);
        assert_ne!(a, b, "a fresh nonce per write");
        assert!(!a.contains("observerat") && DraftKey::is_sealed(&a));
        assert_eq!(key.open(41, &a).unwrap(), draft);
        assert!(key.open(42, &a).is_err(), "moved to another recipient's row");
        assert!(DraftKey::from_bytes(&[8; 32]).open(41, &a).is_err(), "another key");
        // A draft stored before sealing reads as it was.
        assert_eq!(key.open(41, draft).unwrap(), draft);
    }

    #[test]
    fn the_key_file_is_made_once_private_and_refused_when_garbled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/draft.key");
        let first = DraftKey::load_or_create(&path).unwrap();
        let sealed = first.seal(1, "utkast");
        let again = DraftKey::load_or_create(&path).unwrap();
        assert_eq!(again.open(1, &sealed).unwrap(), "utkast");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "inte en nyckel\n").unwrap();
        let e = DraftKey::load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("draft.key") && e.contains("DRAFT_KEY_FILE"), "{e}");
    }
}
