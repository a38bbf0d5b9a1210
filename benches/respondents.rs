//! Load benchmark: a round with many recipients, and concurrent virtual respondents who open
//! their links and answer the whole questionnaire over HTTP against the real server binary.
//!
//!     cargo bench --bench respondents
//!
//! Settings (environment): BENCH_RECIPIENTS (100000), BENCH_RESPONDENTS (how many complete the
//! form, 30000), BENCH_CONCURRENCY (32), DATABASE_URL (default: a fresh SQLite file).
//! Each post is answered with the next page (or the receipt after the last one). Prints
//! completed questionnaires per second, the latency of each page (median, p99) and the
//! server's peak resident memory.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} in page: {body}")) + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

/// What virtual respondent `n` answers on the page showing `first_question`.
fn answers_for(n: usize, first_question: &str) -> Vec<(&'static str, &'static str)> {
    match first_question {
        "observerat" => vec![("q.observerat", if n.is_multiple_of(3) { "ja" } else { "nej" })],
        "uttryck" => vec![
            ("q.uttryck.klotter", "vit_makt"),
            ("q.uttryck.flygblad", "autonoma"),
            ("q.frekvens", "enstaka"),
            ("q.forandring", "okat"),
            ("q.beskrivning", "Klistermärken vid busshållplatsen under våren."),
        ],
        "forandring" => vec![("q.forandring", "oforandrat"), ("q.valrorelse", "nej")],
        "anhoriga" => vec![("q.anhoriga", if n.is_multiple_of(5) { "ja" } else { "nej" })],
        "anhoriga_antal" => vec![
            ("q.anhoriga_antal", "2"),
            ("q.anhoriga_miljo", "islamistisk"),
            ("q.avhoppare", "nej"),
            ("q.orosanmalningar", "1"),
        ],
        "avhoppare" => vec![("q.avhoppare", "nej"), ("q.orosanmalningar", "0"), ("q.ia_rapporter", "0")],
        "vet_vart_vanda" => vec![
            ("q.vet_vart_vanda", "delvis"),
            ("q.webbutbildning", "ja"),
            ("q.stodbehov", "utbildning"),
            ("q.stodbehov", "rutiner"),
        ],
        other => panic!("unexpected page starting with {other}"),
    }
}

fn first_question(body: &str) -> &str {
    let start = body.find("<div class=\"question").expect("a question on the page");
    let id = body[start..].split("id=\"q-").nth(1).unwrap();
    &id[..id.find('"').unwrap()]
}

type Timings = BTreeMap<String, Vec<Duration>>;

async fn respond(client: &reqwest::Client, link: &str, n: usize, timings: &mut Timings) {
    let mut time = |page: String, d: Duration| timings.entry(page).or_default().push(d);
    let started = Instant::now();
    let res = client.get(link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.text().await.unwrap();
    time("GET  page 1 (open link)".into(), started.elapsed());
    let csrf = hidden(&body, "csrf");
    for page in 1.. {
        let step = hidden(&body, "step");
        let mut form = vec![("csrf", csrf.as_str()), ("step", step.as_str()), ("action", "next")];
        form.extend(answers_for(n, first_question(&body)));
        let started = Instant::now();
        let res = client.post(link).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 200);
        body = res.text().await.unwrap();
        time(format!("POST page {page}"), started.elapsed());
        if body.contains("Tack för ditt svar!") {
            return;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do not use.
    let recipients = common::setting("BENCH_RECIPIENTS", 100_000);
    let respondents = common::setting("BENCH_RESPONDENTS", 30_000).min(recipients);
    let concurrency = common::setting("BENCH_CONCURRENCY", 32);
    let dir = tempfile::tempdir().unwrap();
    let db = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://data/bench.db".into());
    println!(
        "lagesbild load benchmark: {recipients} recipients, {respondents} respondents, {concurrency} at a time, {db}"
    );

    common::open_round(dir.path(), &db);
    let roster = dir.path().join("roster.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&roster).unwrap());
    writeln!(f, "email,name,organisation,group,category").unwrap();
    let groups = [("intern", "skola"), ("intern", "forskola"), ("extern", "forening"), ("fackforvaltning", "trafik")];
    for i in 0..recipients {
        let (g, c) = groups[i % groups.len()];
        writeln!(f, "enhet{i}@example.se,,Enhet {i},{g},{c}").unwrap();
    }
    drop(f);
    let started = Instant::now();
    common::lagesbild(dir.path(), &db, &["roster", "import", "--round", "bench", roster.to_str().unwrap()]);
    println!("roster import: {recipients} recipients in {:.1} s", started.elapsed().as_secs_f64());

    let common::Server { process: mut server, base } = common::serve(dir.path(), &db, &[]);

    let started = Instant::now();
    let links_file = dir.path().join("links.csv");
    common::lagesbild(
        dir.path(),
        &db,
        &["--base-url", &base, "links", "--round", "bench", "--out", links_file.to_str().unwrap()],
    );
    let links: Vec<String> = csv::Reader::from_path(&links_file)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[1].to_string())
        .take(respondents)
        .collect();
    println!("links: minted for {recipients} recipients in {:.1} s", started.elapsed().as_secs_f64());
    let memory_before_load = common::memory_mib(server.id(), "VmHWM");

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let links = Arc::new(links);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let timings: Vec<Timings> = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(concurrency)
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let (client, links, next) = (client.clone(), links.clone(), next.clone());
                tokio::spawn(async move {
                    let mut timings = Timings::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let Some(link) = links.get(n) else { break };
                        respond(&client, link, n, &mut timings).await;
                    }
                    timings
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let peak = common::memory_mib(server.id(), "VmHWM");
    server.kill().unwrap();
    server.wait().unwrap();

    let mut merged = Timings::new();
    for t in timings {
        for (page, mut d) in t {
            merged.entry(page).or_default().append(&mut d);
        }
    }
    let requests: usize = merged.values().map(Vec::len).sum();
    println!();
    println!(
        "completed questionnaires: {respondents} in {elapsed:.1} s = {:.0} per second",
        respondents as f64 / elapsed
    );
    println!("HTTP requests: {requests} = {:.0} per second", requests as f64 / elapsed);
    println!("{:<26} {:>8} {:>10} {:>10}", "page", "count", "median ms", "p99 ms");
    let mut everything = Vec::new();
    for (page, d) in &mut merged {
        d.sort();
        everything.extend_from_slice(d);
        println!("{page:<26} {:>8} {:>10.2} {:>10.2}", d.len(), percentile(d, 0.5), percentile(d, 0.99));
    }
    everything.sort();
    println!(
        "{:<26} {:>8} {:>10.2} {:>10.2}",
        "all requests",
        everything.len(),
        percentile(&everything, 0.5),
        percentile(&everything, 0.99)
    );
    println!(
        "server peak memory: {peak:.1} MiB (after import and links, before the load: {memory_before_load:.1} MiB)"
    );
}
