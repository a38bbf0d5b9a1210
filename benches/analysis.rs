//! Analysis benchmark: rounds of 10,000, 100,000 and 1,000,000 stored responses; times the
//! real CLI computing all tallies (`export tallies`) and exporting every response
//! (`export responses`), with each command's peak memory.
//!
//!     cargo bench --bench analysis
//!
//! BENCH_SIZES (comma separated, default 10000,100000,1000000) chooses the round sizes;
//! BENCH_DIR keeps the databases there (for a profiler) instead of in a temporary folder.
//!
//! The floor, measured in the same run: reading every stored response of the round and
//! parsing its answers once, in this process, with nothing counted or written. Tallies and
//! the export are printed as a ratio to it.

mod common;

use lagesbild::config::Settings;
use lagesbild::coordinator::{Actor, NewRound, create_round};
use lagesbild::store::Store;
use lagesbild::survey::{Answer, Answers};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const GROUPS: [(&str, &str); 6] = [
    ("intern", "skola"),
    ("intern", "forskola"),
    ("intern", "fritid"),
    ("extern", "forening"),
    ("extern", "bostadsbolag"),
    ("fackforvaltning", "trafik"),
];

/// A plausible answer set for respondent `i`: about a third saw something.
fn answers(i: u64, group: &str) -> Answers {
    let mut a = Answers::new();
    let one = |s: &str| Answer::One(s.to_string());
    let saw = i.is_multiple_of(3);
    a.insert(
        "observerat".into(),
        one(if saw {
            "ja"
        } else if i.is_multiple_of(7) {
            "vet_ej"
        } else {
            "nej"
        }),
    );
    if saw {
        let envs = ["autonoma", "vit_makt", "islamistisk", "okand"];
        let kinds = ["klotter", "klistermarken", "flygblad", "demonstration", "hot"];
        let mut grid = BTreeMap::new();
        grid.insert(kinds[(i % 5) as usize].to_string(), vec![envs[(i % 4) as usize].to_string()]);
        grid.insert("klotter".to_string(), vec!["vit_makt".to_string()]);
        a.insert("uttryck".into(), Answer::Grid(grid));
        a.insert("frekvens".into(), one("enstaka"));
        a.insert("beskrivning".into(), one("Klistermärken vid busshållplatsen under våren."));
    }
    a.insert("forandring".into(), one(["okat", "oforandrat", "minskat", "vet_ej"][(i % 4) as usize]));
    let relatives = i.is_multiple_of(11);
    a.insert("anhoriga".into(), one(if relatives { "ja" } else { "nej" }));
    if relatives {
        a.insert("anhoriga_antal".into(), Answer::Number((i % 9 + 1) as i64));
        a.insert("anhoriga_miljo".into(), Answer::Many(vec!["islamistisk".into()]));
    }
    a.insert("avhoppare".into(), one(if i.is_multiple_of(97) { "ja" } else { "nej" }));
    if group == "intern" {
        a.insert("orosanmalningar".into(), Answer::Number((i % 4) as i64));
        a.insert("webbutbildning".into(), one(["ja", "nej", "planerad"][(i % 3) as usize]));
    }
    a.insert("vet_vart_vanda".into(), one(["ja", "delvis", "nej"][(i % 3) as usize]));
    a.insert("stodbehov".into(), Answer::Many(vec!["utbildning".into(), "rutiner".into()]));
    a
}

async fn fill(db: &str, dir: &Path, n: u64) {
    let settings =
        Settings { database_url: db.to_string(), surveys_dir: None, templates_dir: None, base_url: String::new() };
    let store = Store::connect(db).await.unwrap();
    let today = jiff::Zoned::now().date();
    let new = NewRound {
        survey_id: "lagesbild".into(),
        year: today.year(),
        opens: Some(today),
        closes: Some(today),
        key: Some("bench".into()),
        ..NewRound::default()
    };
    let round = create_round(&store, &settings.surveys().unwrap(), &Actor::command_line(), new).await.unwrap();
    drop(store);
    // Rows go in through a connection of the benchmark's own, many to a statement.
    let pool = sqlx::SqlitePool::connect(&format!("{db}?mode=rw")).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    const BATCH: u64 = 500;
    for start in (0..n).step_by(BATCH as usize) {
        let end = (start + BATCH).min(n);
        let mut recipients = sqlx::QueryBuilder::new(
            "INSERT INTO recipients (round_id, email, name, organisation, grp, category, created_at, submitted_on) ",
        );
        recipients.push_values(start..end, |mut b, i| {
            let (g, c) = GROUPS[(i % 6) as usize];
            b.push_bind(round.id).push_bind(format!("e{i}@example.se")).push_bind("").push_bind(format!("Enhet {i}"));
            b.push_bind(g).push_bind(c).push_bind(0i64).push_bind("2027-03-15");
        });
        recipients.build().execute(&mut *tx).await.unwrap();
        let mut responses = sqlx::QueryBuilder::new("INSERT INTO responses (id, round_id, grp, category, answers) ");
        responses.push_values(start..end, |mut b, i| {
            let (g, c) = GROUPS[(i % 6) as usize];
            b.push_bind(lagesbild::token::random()).push_bind(round.id).push_bind(g).push_bind(c);
            b.push_bind(serde_json::to_string(&answers(i, g)).unwrap());
        });
        responses.build().execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    // A round's responses arrive over weeks, with SQLite checkpointing its log as it goes;
    // one bulk transaction leaves them all in the log, which is not how a database looks
    // when an analyst exports.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await.unwrap();
    let _ = dir;
}

/// Reads and parses every response of the round once: the least any analysis must do.
async fn floor(db: &str) -> Duration {
    use futures_util::TryStreamExt;
    let pool = sqlx::SqlitePool::connect(&format!("{db}?mode=ro")).await.unwrap();
    let started = Instant::now();
    let mut rows = sqlx::query_scalar::<_, String>("SELECT answers FROM responses").fetch(&pool);
    let mut parsed = 0usize;
    while let Some(answers) = rows.try_next().await.unwrap() {
        let value: serde_json::Value = serde_json::from_str(&answers).unwrap();
        parsed += usize::from(value.is_object());
    }
    let took = started.elapsed();
    assert!(parsed > 0);
    took
}

/// Runs the CLI, returning its wall time and peak resident memory (MiB), read from /proc.
fn timed(dir: &Path, db: &str, args: &[&str]) -> (Duration, f64) {
    let started = Instant::now();
    let mut child = common::command(dir, db).args(args).spawn().unwrap();
    let mut peak = 0.0f64;
    loop {
        peak = peak.max(common::memory_mib(child.id(), "VmHWM"));
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "lagesbild {args:?} failed");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (started.elapsed(), peak)
}

enum Kept {
    Temp(tempfile::TempDir),
    Dir(std::path::PathBuf),
}

impl From<std::path::PathBuf> for Kept {
    fn from(p: std::path::PathBuf) -> Kept {
        Kept::Dir(p)
    }
}

impl Kept {
    fn path(&self) -> &Path {
        match self {
            Kept::Temp(t) => t.path(),
            Kept::Dir(p) => p,
        }
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!(
        "{:>10} {:>12} {:>12} {:>14} {:>14} {:>12} {:>10} {:>16} {:>16}",
        "responses",
        "tallies s",
        "tallies MiB",
        "export s",
        "rows/s",
        "export MiB",
        "floor s",
        "tallies/floor",
        "export/floor"
    );
    for n in sizes {
        // BENCH_DIR keeps the databases for a profiler; by default they go with a temporary folder.
        let dir = match std::env::var("BENCH_DIR") {
            Ok(d) => tempfile::Builder::new().prefix(&format!("{n}-")).tempdir_in(d).unwrap().keep().into(),
            Err(_) => Kept::Temp(tempfile::tempdir().unwrap()),
        };
        let db = format!("sqlite://{}", dir.path().join("bench.db").display());
        runtime.block_on(fill(&db, dir.path(), n));
        let (t, tm) = timed(dir.path(), &db, &["export", "tallies", "--round", "bench", "--out", "tallies.csv"]);
        let (e, em) = timed(dir.path(), &db, &["export", "responses", "--round", "bench", "--out", "responses.csv"]);
        let rows =
            std::fs::read_to_string(dir.path().join("responses.csv")).map(|s| s.lines().count() - 1).unwrap_or(0);
        assert_eq!(rows as u64, n, "every response exported");
        let f = runtime.block_on(floor(&db)).as_secs_f64();
        println!(
            "{n:>10} {:>12.2} {tm:>12.1} {:>14.2} {:>14.0} {em:>12.1} {f:>10.3} {:>16.1} {:>16.1}",
            t.as_secs_f64(),
            e.as_secs_f64(),
            n as f64 / e.as_secs_f64(),
            t.as_secs_f64() / f,
            e.as_secs_f64() / f,
        );
    }
}
