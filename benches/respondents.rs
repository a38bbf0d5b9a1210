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
//!
//! The floor, measured in the same run: the same client and the same exchanges against a bare
//! actix handler that answers each request with the page the real server gave, from memory.
//! Absolute figures move by 2× between machines; the ratio to the floor much less.

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
    walk(client, link, n, &mut |page, d, _| timings.entry(page).or_default().push(d)).await;
}

/// One questionnaire, page by page; `seen` hears each page's name, time and the step posted.
async fn walk(
    client: &reqwest::Client,
    link: &str,
    n: usize,
    seen: &mut impl FnMut(String, Duration, Option<(String, String)>),
) {
    let started = Instant::now();
    let res = client.get(link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.text().await.unwrap();
    seen("GET  page 1 (open link)".into(), started.elapsed(), Some((String::new(), body.clone())));
    let csrf = hidden(&body, "csrf");
    for page in 1.. {
        let (step, version) = (hidden(&body, "step"), hidden(&body, "version"));
        let mut form =
            vec![("csrf", csrf.as_str()), ("step", step.as_str()), ("version", version.as_str()), ("action", "next")];
        form.extend(answers_for(n, first_question(&body)));
        let started = Instant::now();
        let res = client.post(link).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 200);
        body = res.text().await.unwrap();
        seen(format!("POST page {page}"), started.elapsed(), Some((step, body.clone())));
        if body.contains("Tack för ditt svar!") {
            return;
        }
    }
}

/// The pages of one questionnaire as the real server answered them: the first, and the one
/// that followed each posted step.
#[derive(Default)]
struct Recorded {
    first: String,
    after_step: std::collections::HashMap<String, String>,
}

async fn record(client: &reqwest::Client, link: &str) -> Recorded {
    let mut recorded = Recorded::default();
    walk(client, link, 0, &mut |_, _, page| {
        if let Some((step, body)) = page {
            if step.is_empty() {
                recorded.first = body;
            } else {
                recorded.after_step.insert(step, body);
            }
        }
    })
    .await;
    recorded
}

/// The floor: a bare actix server (one worker, as the real server on SQLite here) answering
/// every request with a recorded page. Returns its address and a handle that stops it.
fn floor_server(pages: Recorded) -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{HttpResponse, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let pages = web::Data::new(pages);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                let html = |body: String| HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body);
                actix_web::App::new()
                    .app_data(pages.clone())
                    .route(
                        "/s/{token}",
                        web::get().to(move |p: web::Data<Recorded>| async move { html(p.first.clone()) }),
                    )
                    .route(
                        "/s/{token}",
                        web::post().to(move |p: web::Data<Recorded>, body: web::Bytes| async move {
                            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
                            let step =
                                form.iter().find(|(k, _)| k == "step").map(|(_, v)| v.clone()).unwrap_or_default();
                            html(p.after_step.get(&step).cloned().unwrap_or_default())
                        }),
                    )
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
            tx.send(server.handle()).unwrap();
            server.await
        })
    });
    (base, rx.recv().unwrap())
}

/// `concurrency` virtual respondents answering through `links`; the wall time and each page's times.
fn load(runtime: &tokio::runtime::Runtime, links: Vec<String>, concurrency: usize) -> (f64, Vec<Timings>) {
    let links = Arc::new(links);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let timings = runtime.block_on(async {
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
    (started.elapsed().as_secs_f64(), timings)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do not use.
    let recipients = common::setting("BENCH_RECIPIENTS", 100_000);
    let recipients = recipients.max(2);
    let respondents = common::setting("BENCH_RESPONDENTS", 30_000).min(recipients - 1);
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

    let server = common::serve(dir.path(), &db, &[]);
    let base = server.base.clone();

    let started = Instant::now();
    let links_file = dir.path().join("links.csv");
    common::lagesbild(
        dir.path(),
        &db,
        &["--base-url", &base, "links", "--round", "bench", "--out", links_file.to_str().unwrap()],
    );
    let mut links = common::links(&links_file);
    println!("links: minted for {recipients} recipients in {:.1} s", started.elapsed().as_secs_f64());
    // One recipient's questionnaire is recorded for the floor; the others make the load.
    let recorder = links.pop().expect("a recipient to record the pages with");
    links.truncate(respondents.min(links.len()));
    let respondents = links.len();
    let memory_before_load = common::memory_mib(server.process.id(), "VmHWM");

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let recorded = runtime.block_on(record(&reqwest::Client::new(), &recorder));
    let (elapsed, timings) = load(&runtime, links, concurrency);
    let peak = common::memory_mib(server.process.id(), "VmHWM");
    drop(server);

    // The floor: the same exchanges, answered from memory by a bare handler.
    let (floor_base, floor) = floor_server(recorded);
    let floor_links: Vec<String> = (0..respondents).map(|i| format!("{floor_base}/s/floor{i}")).collect();
    let (floor_elapsed, _) = load(&runtime, floor_links, concurrency);
    runtime.block_on(floor.stop(true));

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
    common::ratio(
        "completed questionnaires per second",
        respondents as f64 / elapsed,
        respondents as f64 / floor_elapsed,
        "/s",
    );
}
