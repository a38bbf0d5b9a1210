//! Mail-out benchmark: invitations for a large roster, queued with `lagesbild invite` and
//! delivered by the real server binary to an SMTP server on loopback (the tests' one).
//!
//!     cargo bench --bench invitations
//!
//! Settings (environment): BENCH_RECIPIENTS (10000), DATABASE_URL (default: a fresh SQLite
//! file), MAIL_CONCURRENCY (the server's default, 16). Prints the time from queueing to the
//! last email accepted by the relay, and the server's resident memory sampled every 250 ms.
//!
//! The floor, measured in the same run: the same number of emails of the same size, rendered
//! beforehand and handed to a second relay of the same kind by as many senders at once, with
//! no database, queue or templates in between.

mod common;
#[path = "../tests/e2e/smtp.rs"]
mod smtp;

use std::io::Write;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let recipients = common::setting("BENCH_RECIPIENTS", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let db = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://data/bench.db".into());
    let relay = smtp::SmtpServer::start().await;
    println!("invitations benchmark: {recipients} recipients, database {}", db.split('@').next_back().unwrap());

    common::open_round(dir.path(), &db);
    let roster = dir.path().join("roster.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&roster).unwrap());
    writeln!(f, "email,name,organisation,group,category").unwrap();
    let groups = [("intern", "skola"), ("intern", "forskola"), ("extern", "forening"), ("fackforvaltning", "trafik")];
    for i in 0..recipients {
        let (g, c) = groups[i % groups.len()];
        writeln!(f, "enhet{i}@example.se,Namn {i},Enhet {i},{g},{c}").unwrap();
    }
    drop(f);
    common::lagesbild(dir.path(), &db, &["roster", "import", "--round", "bench", roster.to_str().unwrap()]);

    let relay_url = relay.url();
    let server = common::serve(dir.path(), &db, &[("SMTP_URL", relay_url.as_str())]);
    let pid = server.process.id();
    let idle = common::memory_mib(pid, "VmRSS");

    let started = Instant::now();
    let queued = common::lagesbild(dir.path(), &db, &["invite", "--round", "bench"]);
    let queueing = started.elapsed().as_secs_f64();
    print!("{queued}");
    let mut samples = Vec::new();
    let deadline = started + Duration::from_secs(600);
    while relay.received().len() < recipients && Instant::now() < deadline {
        samples.push((started.elapsed().as_secs_f64(), relay.received().len(), common::memory_mib(pid, "VmRSS")));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let delivered = relay.received().len();
    samples.push((seconds, delivered, common::memory_mib(pid, "VmRSS")));
    drop(server);

    let once = smtp::not_exactly_once(
        &relay.per_address(),
        &(0..recipients).map(|i| format!("enhet{i}@example.se")).collect::<Vec<_>>(),
    );
    println!(
        "queued in {queueing:.2} s; {delivered} of {recipients} accepted by the relay after {seconds:.1} s ({:.0} emails/s)",
        delivered as f64 / seconds
    );
    println!("addresses not reached exactly once: {}", once.len());
    let peak = samples.iter().map(|s| s.2).fold(0.0, f64::max);
    println!("server resident memory: {idle:.1} MiB idle before, peak {peak:.1} MiB during the run");
    println!("   time  delivered  RSS MiB");
    let step = (samples.len() / 10).max(1);
    for (t, n, rss) in samples.iter().step_by(step).chain(samples.last()) {
        println!("{t:7.1}  {n:9}  {rss:7.1}");
    }
    assert_eq!(delivered, recipients, "not every invitation was delivered within 10 minutes");
    let size = relay.received().first().map_or(2_000, |r| r.data.len());
    let floor = floor(recipients, size).await;
    common::ratio("emails per second", delivered as f64 / seconds, recipients as f64 / floor, "/s");
}

/// Seconds for `n` ready emails of `size` bytes to reach a relay from as many senders at once
/// as the server uses.
async fn floor(n: usize, size: usize) -> f64 {
    let relay = smtp::SmtpServer::start().await;
    let senders = common::setting("MAIL_CONCURRENCY", 16);
    let client = std::sync::Arc::new(lagesbild::outbox::relay::Relay::from_url(&relay.url(), None, senders).unwrap());
    let emails: Vec<_> = (0..n)
        .map(|i| {
            let message = lettre::Message::builder()
                .from("samordnare@example.se".parse().unwrap())
                .to(format!("enhet{i}@example.se").parse().unwrap())
                .subject("Enkät")
                .body("x".repeat(size))
                .unwrap();
            (message.envelope().clone(), message.formatted())
        })
        .collect();
    let emails = std::sync::Arc::new(std::sync::Mutex::new(emails));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..senders {
        let (client, emails) = (client.clone(), emails.clone());
        tasks.spawn(async move {
            loop {
                let Some((envelope, bytes)) = emails.lock().unwrap().pop() else { break };
                client.send(&envelope, &bytes).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(relay.received().len(), n);
    seconds
}
