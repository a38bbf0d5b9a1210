//! The worker that empties the outbox: inside the server (`spawn`) or once from the command
//! line (`Mailer::send_all`). Each email is claimed, rendered with a freshly minted link,
//! handed to the transport and recorded; see the module above for the guarantee.

use super::letter::{LetterData, Letters, mailbox, message, new_message_id};
use super::transport::{Outgoing, Transport};
use super::{AfterFailure, Claimed, Failure, ReminderCutoff, after_failure, parse_schedule};
use crate::config::{MailSettings, Settings};
use crate::round::{Phase, today};
use crate::store::{Claim, Store};
use anyhow::Context;
use lettre::message::Mailbox;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

pub struct Mailer {
    store: Store,
    letters: Letters,
    transport: Transport,
    sender: Mailbox,
    settings: Settings,
    mail: MailSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// A temporary failure: it goes back to the queue for a later try.
    Retrying,
    Failed,
    /// Handed over whole, with no reply: it may have arrived.
    Uncertain,
}

/// What one run of `send_all` did.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: AtomicUsize,
    pub retrying: AtomicUsize,
    pub failed: AtomicUsize,
    pub uncertain: AtomicUsize,
}

impl Tally {
    fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Sent => &self.sent,
            Outcome::Retrying => &self.retrying,
            Outcome::Failed => &self.failed,
            Outcome::Uncertain => &self.uncertain,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Mailer {
    pub fn new(settings: &Settings, mail: &MailSettings, store: Store) -> anyhow::Result<Mailer> {
        let address = mail
            .mail_from
            .parse()
            .with_context(|| format!("MAIL_FROM `{}` is not an email address", mail.mail_from))?;
        let name = mail.mail_from_name.trim();
        if !(settings.base_url.starts_with("http://") || settings.base_url.starts_with("https://")) {
            anyhow::bail!(
                "BASE_URL `{}` must start with http:// or https://: the links in emails are opened from mail programs",
                settings.base_url
            );
        }
        let local = ["://127.0.0.1", "://localhost", "://[::1]"].iter().any(|h| settings.base_url.contains(h));
        if local && mail.smtp_url.is_some() {
            tracing::warn!(
                "the links in emails start with {}, which only this machine can open: set BASE_URL",
                settings.base_url
            );
        }
        Ok(Mailer {
            store,
            letters: Letters::load(&settings.templates()?)?,
            transport: Transport::from_settings(mail)?,
            sender: Mailbox::new((!name.is_empty()).then(|| name.to_string()), address),
            settings: settings.clone(),
            mail: mail.clone(),
        })
    }

    pub fn letters(&self) -> &Letters {
        &self.letters
    }

    pub fn sender(&self) -> &Mailbox {
        &self.sender
    }

    /// Where emails go, for a coordinator to read.
    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// Renders and hands over one claimed email, and records what became of it.
    async fn deliver(&self, claimed: Claimed) -> anyhow::Result<Outcome> {
        let email = match self.compose(&claimed).await {
            Ok(Ok(email)) => email,
            Ok(Err(unsendable)) => {
                tracing::warn!(outbox_id = claimed.id, reason = %unsendable, "email failed: it cannot be made");
                self.store.email_failed(claimed.id, &unsendable).await?;
                return Ok(Outcome::Failed);
            }
            // Nothing was handed over yet, so the email goes back to the queue, not to "uncertain".
            Err(e) => return self.failed(&claimed, Failure::Temporary(format!("kunde inte skapas: {e:#}"))).await,
        };
        let name = format!("{:07}-{}", claimed.id, claimed.kind.swedish());
        match self.transport.deliver(&name, &email).await {
            Ok(()) => {
                self.store.email_sent(claimed.id).await?;
                Ok(Outcome::Sent)
            }
            Err(failure) => self.failed(&claimed, failure).await,
        }
    }

    /// The email, rendered to the bytes that will be sent, or why it cannot be made.
    async fn compose(&self, claimed: &Claimed) -> anyhow::Result<Result<Outgoing, String>> {
        let to = match mailbox(&claimed.email, &claimed.name) {
            Ok(to) => to,
            Err(why) => return Ok(Err(why)),
        };
        let round = self.store.round_by_id(claimed.round_id).await?;
        let own = self.store.round_mail(claimed.round_id).await?;
        let message_id = self.store.message_id(claimed.id, &new_message_id(&self.sender)).await?;
        let link = self.settings.link(&claimed.token);
        let data = LetterData::new(&round, &own, &self.sender, &claimed.name, &claimed.organisation, link);
        let letter = self.letters.render(claimed.kind, &own, &data)?;
        // lettre panics on a header it cannot write; one such email must fail alone, not take
        // its sender (and every email after it) down.
        let sender = &self.sender;
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            message(sender, to, letter, &message_id)
                .map(|m| Outgoing { envelope: m.envelope().clone(), bytes: m.formatted() })
        }));
        match made {
            Ok(Ok(email)) => Ok(Ok(email)),
            Ok(Err(e)) => Ok(Err(format!("e-postmeddelandet kunde inte skapas: {e:#}"))),
            Err(_) => Ok(Err(
                "e-postmeddelandet kunde inte skapas: ett namn eller en text går inte att skriva i ett e-posthuvud"
                    .into(),
            )),
        }
    }

    async fn failed(&self, claimed: &Claimed, failure: Failure) -> anyhow::Result<Outcome> {
        let m = &self.mail;
        match after_failure(&failure, claimed.attempts, m.mail_max_attempts, m.mail_retry_seconds, now()) {
            AfterFailure::RetryAt { at, error } => {
                tracing::info!(outbox_id = claimed.id, reason = %error, "email will be retried");
                self.store.email_retry(claimed.id, at, &error).await?;
                Ok(Outcome::Retrying)
            }
            AfterFailure::GiveUp { error } => {
                tracing::warn!(outbox_id = claimed.id, reason = %error, "email failed");
                self.store.email_failed(claimed.id, &error).await?;
                Ok(Outcome::Failed)
            }
            AfterFailure::Uncertain { error } => {
                tracing::warn!(outbox_id = claimed.id, reason = %error, "email may have arrived: marked uncertain");
                self.store.email_uncertain(claimed.id, &error).await?;
                Ok(Outcome::Uncertain)
            }
            AfterFailure::SlowDown { error } => {
                let pause = m.mail_slow_down_seconds.max(1);
                tracing::warn!(outbox_id = claimed.id, reason = %error, "the relay asked to slow down: every sender pauses {pause} s");
                let until = crate::store::now_ms() + pause as i64 * 1000;
                self.store.email_slowed(claimed.id, until, &error).await?;
                Ok(Outcome::Retrying)
            }
        }
    }

    /// One sender: delivers due emails until none is left, or until asked to stop. Returns
    /// when the pace next lets an email go (Unix ms), if it ended waiting for a long turn.
    async fn drain(
        &self,
        round_id: Option<i64>,
        tally: &Tally,
        progress: &(dyn Fn() + Send + Sync),
        stop: &AtomicBool,
    ) -> anyhow::Result<Option<i64>> {
        let pace = self.mail.pace();
        while !stop.load(Ordering::Relaxed) {
            match self.store.claim_email(round_id, self.mail.mail_claim_seconds, pace).await? {
                Claim::Claimed(claimed) => {
                    tally.count(self.deliver(claimed).await?);
                    progress();
                }
                Claim::Nothing => break,
                // The next email's turn comes soon: wait for it. A longer wait (the day's
                // limit, the relay's pause) ends this pass; the caller sleeps until then.
                Claim::Wait { until_ms } => {
                    let wait = until_ms - crate::store::now_ms();
                    if wait > MAX_PACE_WAIT_MS {
                        return Ok(Some(until_ms));
                    }
                    tokio::time::sleep(Duration::from_millis(wait.max(1) as u64)).await;
                }
            }
        }
        Ok(None)
    }

    /// Delivers the outbox (of one round, or of all) with several senders
    /// at once. With `wait`, also waits for emails that are to be retried later, until every
    /// email is sent or has failed.
    pub async fn send_all(
        self: &Arc<Self>,
        round_id: Option<i64>,
        wait: bool,
        progress: Arc<dyn Fn() + Send + Sync>,
    ) -> anyhow::Result<Arc<Tally>> {
        let tally = Arc::new(Tally::default());
        loop {
            self.store.expire_claims().await?;
            let mut senders = tokio::task::JoinSet::new();
            for _ in 0..self.mail.mail_concurrency.max(1) {
                let (me, tally, progress) = (self.clone(), tally.clone(), progress.clone());
                senders.spawn(async move { me.drain(round_id, &tally, &*progress, &AtomicBool::new(false)).await });
            }
            let mut paced_until = None;
            while let Some(done) = senders.join_next().await {
                paced_until = paced_until.max(done??);
            }
            let (pending, next_due) = self.store.outbox_pending(round_id).await?;
            if pending == 0 || !wait {
                return Ok(tally);
            }
            // Until the next email is due, or the pace lets one go (at most a minute, then look again).
            let due_ms = next_due.map_or(now() * 1000, |due| due * 1000).max(paced_until.unwrap_or(0));
            let wait_for = (due_ms - crate::store::now_ms()).clamp(1_000, 60_000);
            tokio::time::sleep(Duration::from_millis(wait_for as u64)).await;
        }
    }

    /// Queues the reminders each round's schedule calls for today; returns how many.
    pub async fn scheduled_reminders(&self) -> anyhow::Result<usize> {
        let mut queued = 0;
        let now = now();
        for (round_id, schedule) in self.store.reminder_schedules().await? {
            let steps = match parse_schedule(&schedule) {
                Ok(steps) => steps,
                Err(e) => {
                    tracing::warn!(round_id, "reminder schedule ignored: {e}");
                    continue;
                }
            };
            let round = self.store.round_by_id(round_id).await?;
            if round.phase(today()) != Phase::Open {
                continue;
            }
            for step in steps {
                let Some(cutoff) =
                    ReminderCutoff::scheduled(step, round.closes_on, today(), now, self.mail.reminder_min_days)
                else {
                    continue;
                };
                let q = self.store.queue_scheduled_reminders(round_id, &step.occasion(), cutoff).await?;
                if q.queued > 0 {
                    tracing::info!(round = %round.key, step = %step.occasion(), "queued {} scheduled reminders", q.queued);
                }
                queued += q.queued;
            }
        }
        Ok(queued)
    }
}

/// The longest a sender sleeps for its turn within one pass (MAIL_PER_MINUTE's spacing).
const MAX_PACE_WAIT_MS: i64 = 10_000;

/// The server's senders, running until `stop`.
pub struct Running {
    stop: Arc<AtomicBool>,
    senders: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Lets the emails being handed over finish (at most 30 s), and claims no more: a restart
    /// of the server then leaves no email uncertain.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let all = async {
            for sender in self.senders {
                let _ = sender.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(30), all).await.is_err() {
            tracing::warn!("emails still being sent after 30 s were interrupted");
        }
    }
}

/// Runs a task made by `make` until it ends, making a new one each time one panics (logged),
/// until `stop`: one bad email must not stop the outbox. (The email a sender held when it
/// panicked stays claimed and becomes uncertain when the claim expires.)
async fn restarted_after_a_panic<F, T>(stop: Arc<AtomicBool>, make: F)
where
    F: Fn() -> T + Send + 'static,
    T: std::future::Future<Output = ()> + Send + 'static,
{
    while !stop.load(Ordering::Relaxed) {
        match tokio::spawn(make()).await {
            Err(e) if e.is_panic() => tracing::error!("an email sender stopped on an error and was restarted: {e}"),
            _ => break,
        }
    }
}

/// One of the server's senders: delivers due emails, looks again every half second.
async fn sender(mailer: Arc<Mailer>, stop: Arc<AtomicBool>) {
    let tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let pause = match mailer.drain(None, &tally, &|| {}, &stop).await {
            // Waiting for the pace (a day's limit, the relay's pause): sleep towards it, a few
            // seconds at a time so that a stop is heard.
            Ok(Some(until_ms)) => (until_ms - crate::store::now_ms()).clamp(500, 5_000),
            Ok(None) => 500,
            Err(e) => {
                tracing::warn!("the outbox could not be read: {e:#}");
                500
            }
        };
        tokio::time::sleep(Duration::from_millis(pause as u64)).await;
    }
}

/// Starts the server's senders and its housekeeping (expired claims, scheduled reminders).
pub fn spawn(mailer: Arc<Mailer>) -> Running {
    tracing::info!(to = %mailer.transport.log_target(), "emails are delivered");
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..mailer.mail.mail_concurrency.max(1) {
        let (mailer, stop) = (mailer.clone(), stop.clone());
        senders.push(tokio::spawn(restarted_after_a_panic(stop.clone(), move || sender(mailer.clone(), stop.clone()))));
    }
    tokio::spawn(async move {
        let check_every = mailer.mail.reminder_check_seconds.max(1) as i64;
        let mut next_check = 0;
        loop {
            if let Err(e) = mailer.store.expire_claims().await {
                tracing::warn!("the outbox could not be read: {e:#}");
            }
            if now() >= next_check {
                next_check = now() + check_every;
                if let Err(e) = mailer.scheduled_reminders().await {
                    tracing::warn!("scheduled reminders could not be queued: {e:#}");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Running { stop, senders }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sender_that_panics_is_started_again() {
        let (runs, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (counted, stopping) = (runs.clone(), stop.clone());
        restarted_after_a_panic(stop.clone(), move || {
            let (runs, stop) = (counted.clone(), stopping.clone());
            async move {
                if runs.fetch_add(1, Ordering::Relaxed) < 2 {
                    panic!("a header lettre cannot write");
                }
                stop.store(true, Ordering::Relaxed);
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::Relaxed), 3, "two panics, then a run that ended normally");
    }
}
