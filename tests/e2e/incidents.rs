//! The whole lägesbild: reports sent through a reporting link (good and bad), marked and
//! exported; the year's sources entered; a seed-like round answered; the report out as
//! Markdown, HTML and a Word document read back by python-docx, its bullets checked against
//! the figures; and the reporter's address nowhere in the database or the log.

use crate::helpers::{Browser, Engine, Page, TestApp, answer_pages, days_from_today, lagesbild_in, project_dir};
use lagesbild::account::Role;
use lagesbild::coordinator::{self, Actor, NewRound};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

// Behind a proxy, as a city's server runs: the reporter's address is the one the proxy adds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_incident_reports_and_sources_comes_out_in_the_report_sqlite() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.behind_proxy = true).await.unwrap();
    a_year_of_incident_reports_and_sources_comes_out_in_the_report(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn a_year_of_incident_reports_and_sources_comes_out_in_the_report_postgres() {
    let app = TestApp::spawn_with(Engine::Postgres, |s| s.behind_proxy = true).await.unwrap();
    a_year_of_incident_reports_and_sources_comes_out_in_the_report(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_descriptions_are_deleted_by_the_records_rule_sqlite() {
    let app = TestApp::spawn_with(Engine::Sqlite, keep_one_month).await.unwrap();
    old_descriptions_are_deleted_by_the_records_rule(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn old_descriptions_are_deleted_by_the_records_rule_postgres() {
    let app = TestApp::spawn_with(Engine::Postgres, keep_one_month).await.unwrap();
    old_descriptions_are_deleted_by_the_records_rule(app).await;
}

fn keep_one_month(s: &mut lagesbild::config::ServeSettings) {
    s.incident_text_months = 1;
    s.gallring_check_seconds = 1;
}

/// Descriptions are kept a month after the month observed (here): the report from two
/// months back loses its description, keeps its counts, and its text is gone from the files.
async fn old_descriptions_are_deleted_by_the_records_rule(app: TestApp) {
    use lagesbild::incident::Month;
    let token = coordinator::create_report_link(&app.store, &Actor::command_line(), "Intranätet", "").await.unwrap();
    let link = format!("/rapportera/{token}");
    let now = Month::of(lagesbild::round::today());
    let mut staff = reporter(&app.base);
    for (m, text) in [(now.minus(2), "Gammal beskrivning med hakkors"), (now, "Färsk beskrivning med klistermärke")] {
        let month = lagesbild::round::MONTHS[(m.month - 1) as usize];
        let done = report(&mut staff, &link, &fields(month, &m.year.to_string(), &["klotter"], "vit_makt", text)).await;
        assert_eq!(done.status, 200, "{}", done.body);
    }
    let all = || app.store.incident_reports(Month { year: 2000, month: 1 }, Month { year: 2200, month: 12 });
    let mut erased = false;
    for _ in 0..100 {
        if all().await.unwrap().iter().any(|r| r.description_erased) {
            erased = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(erased, "the server's records pass deleted nothing within 10 s");
    let reports = all().await.unwrap();
    let old = reports.iter().find(|r| r.report.observed == now.minus(2)).unwrap();
    let fresh = reports.iter().find(|r| r.report.observed == now).unwrap();
    assert_eq!((old.report.description.as_str(), old.description_erased), ("", true));
    assert_eq!(old.report.kinds, ["klotter"], "what was seen stays");
    assert_eq!(fresh.report.description, "Färsk beskrivning med klistermärke");
    assert_eq!(app.store.counted_incidents(now.minus(2), now).await.unwrap().0.len(), 2, "the counts stay");
    let db = database_text(&app).await;
    assert!(!db.contains("Gammal beskrivning"), "the deleted description is still in the database's files");
    assert!(db.contains("Färsk beskrivning"));
    let mut coordinator = app.signed_in("samordnare@example.se", Role::Coordinator).await;
    let list = coordinator.get(&format!("/admin/incidenter?ar={}", now.minus(2).year)).await;
    assert!(list.contains("Beskrivningen är raderad"), "{}", list.body);
    let log = coordinator.get("/admin/logg").await;
    assert!(
        log.contains("gallrade beskrivningar i incidentrapporter") && log.contains("1 beskrivningar"),
        "{}",
        log.body
    );
}

/// A source's text that would be a heading, a link and markup if taken as Markdown or HTML.
const MEDIA_TEXT: &str = "Två artiklar om klistermärken.\r\n# Inte en rubrik [länk](javascript:alert(1)) <b>fet</b>";

/// The address the reporters' requests come from, through the proxy.
const REPORTER_ADDRESS: &str = "203.0.113.77";

/// Every log line of this test process, to look for the reporter's address in.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = log.clone();
        let installed = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        assert!(installed.is_ok(), "this test reads the server's log, so it installs the log's writer");
        log
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn reporter(base: &str) -> Browser {
    let mut b = Browser::new(base);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", REPORTER_ADDRESS.parse().unwrap());
    b.client = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    b
}

/// One report through a link, the form opened first as a reporter would.
async fn report(b: &mut Browser, link: &str, fields: &[(&str, &str)]) -> Page {
    let form = b.get(link).await;
    if form.status != 200 {
        return form;
    }
    let path = link.to_string();
    b.post(&path, fields).await
}

fn fields<'a>(
    month: &'a str,
    year: &'a str,
    kinds: &'a [&'a str],
    milieu: &'a str,
    text: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("q.manad", month),
        ("q.ar", year),
        ("q.plats", "park_torg"),
        ("q.omrade", "skarholmen"),
        ("q.miljo", milieu),
        ("q.polis", "nej"),
        ("q.ia", "vet_ej"),
        ("q.forvaltning", "stadsdelsforvaltningen"),
        ("q.beskrivning", text),
    ];
    f.extend(kinds.iter().map(|k| ("q.uttryck", *k)));
    f
}

async fn reports_stored(app: &TestApp) -> usize {
    use lagesbild::incident::Month;
    app.store.incident_reports(Month { year: 2000, month: 1 }, Month { year: 2200, month: 12 }).await.unwrap().len()
}

/// Everything the database holds, as text: each table's rows (SQLite: the file and its WAL).
async fn database_text(app: &TestApp) -> String {
    let url = &app.settings.database_url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut all = Vec::new();
        for suffix in ["", "-wal"] {
            all.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
        }
        return String::from_utf8_lossy(&all).into_owned();
    }
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut all = String::new();
    for t in tables {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM \"{t}\" t")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        all.push_str(&row.get::<String, _>(0));
    }
    all
}

async fn a_year_of_incident_reports_and_sources_comes_out_in_the_report(app: TestApp) {
    let log = captured_log();
    // The round opened yesterday: its twelve months are the full months before this one.
    let opens = days_from_today(-1);
    let new = NewRound {
        survey_id: "lagesbild".into(),
        year: opens.year(),
        opens: Some(opens),
        closes: Some(days_from_today(14)),
        key: Some("r".into()),
        disclosure_threshold: Some(3),
        ..NewRound::default()
    };
    let round = coordinator::create_round(&app.store, &app.settings.surveys().unwrap(), &Actor::command_line(), new)
        .await
        .unwrap();
    let year = round.year;
    let (from, to) = lagesbild::incident::window(round.opens_on);
    let in_window = |back: i64| to.minus(back);

    // The coordinator creates two links; the second takes two reports a day.
    let mut coordinator = app.signed_in("samordnare@example.se", Role::Coordinator).await;
    coordinator.get("/admin/rapportlankar").await;
    let created =
        coordinator.post("/admin/rapportlankar", &[("label", "Intranätet, förvaltningen"), ("daily_cap", "")]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let link_of = |p: &Page| -> String {
        let at = p.body.find("/rapportera/").expect("the new link is shown once");
        p.body[at..].split('<').next().unwrap().to_string()
    };
    let link = link_of(&created);
    assert_eq!(link.len(), "/rapportera/".len() + lagesbild::token::TOKEN_LENGTH);
    let capped =
        link_of(&coordinator.post("/admin/rapportlankar", &[("label", "Fritidsgårdarna"), ("daily_cap", "2")]).await);
    let bad = coordinator.post("/admin/rapportlankar", &[("label", ""), ("daily_cap", "0")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.contains("Skriv var länken ska finnas") && bad.contains("från 1 till 1000"), "{}", bad.body);
    let listed = coordinator.get("/admin/rapportlankar").await;
    assert!(listed.contains("Intranätet, förvaltningen") && !listed.contains(&link), "the list never shows a token");

    // 30 reports in the round's twelve months, one from before them.
    let mut staff = reporter(&app.base);
    let page = staff.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.contains("Skriv inga personuppgifter") && page.contains("Vilken månad såg du det?"), "{}", page.body);
    let batches: [(usize, &[&str], &str, i64); 6] = [
        (7, &["klotter"], "vit_makt", 2),
        (6, &["klistermarken"], "autonoma", 3),
        (5, &["flygblad", "klotter"], "vit_makt", 5),
        (5, &["hot"], "islamistisk", 1),
        (4, &["skadegorelse"], "okand", 7),
        (3, &["demonstration"], "vit_makt", 9),
    ];
    let mut sent = 0;
    for (n, kinds, milieu, back) in batches {
        let m = in_window(back);
        let month = lagesbild::round::MONTHS[(m.month - 1) as usize];
        for _ in 0..n {
            let y = m.year.to_string();
            let done = report(
                &mut staff,
                &link,
                &fields(month, &y, kinds, milieu, "Budskap på en elskåp vid torget, åäö.\r\nTvå rader."),
            )
            .await;
            assert_eq!(done.status, 200, "{}", done.body);
            assert!(done.contains("Tack, rapporten är mottagen"), "{}", done.body);
            sent += 1;
        }
    }
    assert_eq!(sent, 30);
    let before = from.minus(2);
    let old =
        report(&mut staff, &link, &fields("januari", &before.year.to_string(), &["klotter"], "vit_makt", "Äldre."))
            .await;
    // January of a year before the window, if that is within the form's three years.
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(reports_stored(&app).await, 31);

    // Bad input: each refused with a sentence at its question, nothing stored.
    let this = to.year.to_string();
    let unknown = report(&mut staff, &link, &fields("mars", &this, &["klotter"], "nazister", "x")).await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.error_summary().iter().any(|e| e.contains("Från vilken miljö")), "{:?}", unknown.error_summary());
    let day = report(&mut staff, &link, &fields("2026-03-15", &this, &["klotter"], "vit_makt", "x")).await;
    assert_eq!(day.status, 422);
    assert!(day.error_summary().iter().any(|e| e.contains("Vilken månad")), "{:?}", day.error_summary());
    let long = "å".repeat(2001);
    let oversized = report(&mut staff, &link, &fields("mars", &this, &["klotter"], "vit_makt", &long)).await;
    assert_eq!(oversized.status, 422);
    assert!(
        oversized.error_summary().iter().any(|e| e.contains("Beskriv vad du såg") && e.contains("2000")),
        "{:?}",
        oversized.error_summary()
    );
    assert!(oversized.contains(&long), "what was typed is shown again");
    let next_year = (lagesbild::round::today().year() + 1).to_string();
    let future = report(&mut staff, &link, &fields("januari", &next_year, &["klotter"], "vit_makt", "x")).await;
    assert_eq!(future.status, 422);
    assert!(future.contains("har inte kommit ännu"), "{}", future.body);
    assert_eq!(reports_stored(&app).await, 31);

    // The daily cap: the capped link takes two, then says so.
    let m = in_window(1);
    let month = lagesbild::round::MONTHS[(m.month - 1) as usize];
    let y = m.year.to_string();
    for _ in 0..2 {
        assert_eq!(report(&mut staff, &capped, &fields(month, &y, &["vald"], "okand", "Slagsmål.")).await.status, 200);
    }
    let third = report(&mut staff, &capped, &fields(month, &y, &["vald"], "okand", "Slagsmål.")).await;
    assert_eq!(third.status, 429, "{}", third.body);
    assert!(third.contains("tar inte emot fler rapporter i dag"), "{}", third.body);
    assert_eq!(reports_stored(&app).await, 33);

    // A revoked link: the form says so, and a post to it (from a form opened before) stores nothing.
    let capped_form = staff.get(&capped).await;
    assert_eq!(capped_form.status, 200);
    let links = app.store.report_links().await.unwrap();
    let capped_id = links.iter().find(|l| l.label == "Fritidsgårdarna").unwrap().id;
    coordinator.get("/admin/rapportlankar").await;
    let revoked = coordinator.post(&format!("/admin/rapportlankar/{capped_id}/sparra"), &[]).await;
    assert!(revoked.contains("är spärrad"), "{}", revoked.body);
    let gone = staff.get(&capped).await;
    assert_eq!(gone.status, 410);
    assert!(gone.contains("Länken är spärrad"), "{}", gone.body);
    staff.last = Some(capped_form);
    let posted = staff.post(&capped, &fields(month, &y, &["vald"], "okand", "x")).await;
    assert_eq!(posted.status, 410, "{}", posted.body);
    assert_eq!(reports_stored(&app).await, 33);

    // Marking: two reports left out with a reason; one without a reason is refused.
    let list = coordinator.get(&format!("/admin/incidenter?ar={}", to.year)).await;
    assert_eq!(list.status, 200);
    assert!(list.contains("Budskap på en elskåp vid torget, åäö."), "descriptions are listed for coordinators");
    let stored = app.store.incident_reports(from, to).await.unwrap();
    let hot: Vec<i64> = stored.iter().filter(|r| r.report.kinds == ["hot"]).map(|r| r.id).take(2).collect();
    let year_field = to.year.to_string();
    let refused = coordinator
        .post(
            &format!("/admin/incidenter/{}/markering", hot[0]),
            &[("mark", "felregistrerad"), ("reason", ""), ("year", &year_field)],
        )
        .await;
    assert!(refused.contains("markerades inte"), "{}", refused.body);
    coordinator
        .post(
            &format!("/admin/incidenter/{}/markering", hot[0]),
            &[("mark", "felregistrerad"), ("reason", "Gällde ett personalärende."), ("year", &year_field)],
        )
        .await;
    let marked = coordinator
        .post(
            &format!("/admin/incidenter/{}/markering", hot[1]),
            &[("mark", "ingen_koppling"), ("reason", "Vanligt bråk."), ("year", &year_field)],
        )
        .await;
    assert!(marked.contains("Ingen koppling till VBE") && marked.contains("Vanligt bråk."), "{}", marked.body);
    let log_page = coordinator.get("/admin/logg").await;
    assert!(log_page.contains("markerade en incidentrapport") && log_page.contains("Gällde ett personalärende."));
    // A description that names someone is deleted at once; the report still counts.
    let named =
        report(&mut staff, &link, &fields(month, &y, &["hot"], "vit_makt", "Kalle Åberg på Torget 3 hotade")).await;
    assert_eq!(named.status, 200);
    let named_id = app
        .store
        .incident_reports(from, to)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.report.description.contains("Kalle"))
        .unwrap()
        .id;
    coordinator.get(&format!("/admin/incidenter?ar={}", to.year)).await;
    let erased =
        coordinator.post(&format!("/admin/incidenter/{named_id}/radera-beskrivning"), &[("year", &year_field)]).await;
    assert!(
        erased.contains("Beskrivningen i rapport") && erased.contains("Beskrivningen är raderad"),
        "{}",
        erased.body
    );
    assert!(!database_text(&app).await.contains("Kalle Åberg"), "the deleted description is in the database's files");
    coordinator
        .post(
            &format!("/admin/incidenter/{named_id}/markering"),
            &[("mark", "ingen_koppling"), ("reason", "Dubblett."), ("year", &year_field)],
        )
        .await;

    // The export: both dialects, every report of the year, marks included.
    let analyst = app.signed_in("analytiker@example.se", Role::Analyst).await;
    for (dialect, delimiter) in [("", b','), ("&dialekt=excel", b';')] {
        let res = analyst.download(&format!("/admin/incidenter.csv?ar={}{dialect}", to.year)).await;
        assert_eq!(res.status(), 200);
        let body = res.bytes().await.unwrap();
        let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&body);
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(body);
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(header[..4], ["id", "manad", "plats", "omrade"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let of_year = app
            .store
            .incident_reports(
                lagesbild::incident::Month { year: to.year, month: 1 },
                lagesbild::incident::Month { year: to.year, month: 12 },
            )
            .await
            .unwrap()
            .len();
        assert_eq!(rows.len(), of_year);
        assert_eq!(rows.iter().filter(|r| &r[12] == "felregistrerad").count(), 1);
        assert!(rows.iter().any(|r| r[9].contains("Två rader.")), "the description keeps its line break");
    }

    // The sources of the year (and the incident system's figure of the year before).
    let src = format!("/admin/lagesbild/{year}");
    coordinator.get(&src).await;
    let period = |f: &str, t: &str| (f.to_string(), t.to_string());
    let (pf, pt) = period(&format!("{}-01", year - 1), &format!("{year}-03"));
    let entries: [(&str, &str, &str, &str); 8] = [
        (
            "polisen",
            "",
            "",
            "Polisen rapporterar om ett fåtal individer i området som har ett känt samröre med den autonoma och våldsbejakande islamistiska miljön.",
        ),
        (
            "ia",
            "",
            "3",
            "Tre ärenden har rapporterats i IA systemet, en gällande hot och våld och de två andra är felregistrerade, det vill säga har ingen koppling till VBE.",
        ),
        (
            "orosanmalningar",
            "",
            "4",
            "Till stadsdelsförvaltningen har det inkommit fyra orosanmälningar med våldsbejakande extremistiska inslag.",
        ),
        (
            "avhopp",
            "",
            "0",
            "Ingen enskild individ har hittills vänt sig till förvaltningen och velat ha hjälp att hoppa av en extremistisk miljö.",
        ),
        ("anhoriga", "", "0", "Ingen anhörig har hört av sig gällande behov av stöd."),
        ("fackforvaltning", "Trafikkontoret", "1", "Trafikkontoret inrapporterade skadegörelse i form av klotter."),
        ("fackforvaltning", "Utbildningsförvaltningen", "0", "Inga händelser."),
        ("fackforvaltning", "Idrottsförvaltningen", "0", "Inga händelser."),
    ];
    for (kind, name, total, text) in entries {
        let mut f = vec![
            ("kind", kind),
            ("name", name),
            ("from", pf.as_str()),
            ("to", pt.as_str()),
            ("total", total),
            ("text", text),
            ("covers", ""),
        ];
        if name == "Trafikkontoret" {
            f.push(("count.klotter.vit_makt", "1"));
        }
        let saved = coordinator.post(&format!("{src}/kallor"), &f).await;
        assert!(saved.contains("Källan är tillagd."), "{}", saved.body);
    }
    let refused = coordinator
        .post(
            &format!("{src}/kallor"),
            &[
                ("kind", "fackforvaltning"),
                ("name", ""),
                ("from", "2026-13"),
                ("to", ""),
                ("total", "-1"),
                ("text", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    for wanted in [
        "Skriv källans namn",
        "Periodens början ska vara en månad",
        "Antalet ska vara ett heltal",
        "Skriv vad källan säger",
    ] {
        assert!(refused.error_summary().iter().any(|e| e.contains(wanted)), "{wanted}: {:?}", refused.error_summary());
    }
    let twice = coordinator
        .post(
            &format!("{src}/kallor"),
            &[
                ("kind", "polisen"),
                ("from", pf.as_str()),
                ("to", pt.as_str()),
                ("text", "x"),
                ("count.klotter.vit_makt", "1"),
                ("count.klotter.vit_makt", "2"),
            ],
        )
        .await;
    assert_eq!(twice.status, 422, "{}", twice.body);
    assert!(twice.error_summary().iter().any(|e| e.contains("står två gånger")), "{:?}", twice.error_summary());
    assert_eq!(app.store.sources(year).await.unwrap().len(), 8);
    // Text that looks like Markdown or HTML stays text in every format.
    let media = coordinator
        .post(
            &format!("{src}/kallor"),
            &[
                ("kind", "annan"),
                ("name", "Lokaltidningen"),
                ("from", pf.as_str()),
                ("to", pt.as_str()),
                ("text", MEDIA_TEXT),
            ],
        )
        .await;
    assert!(media.contains("Källan är tillagd."), "{}", media.body);
    coordinator.get(&format!("/admin/lagesbild/{}", year - 1)).await;
    let (ef, et) = (format!("{}-01", year - 2), format!("{}-03", year - 1));
    coordinator
        .post(
            &format!("/admin/lagesbild/{}/kallor", year - 1),
            &[("kind", "ia"), ("from", &ef), ("to", &et), ("total", "1"), ("text", "Ett ärende.")],
        )
        .await;
    // An edit is audit-logged; after finalising, edits are refused; opening again allows them.
    let arbets = coordinator
        .post(
            &format!("{src}/kallor"),
            &[
                ("kind", "fackforvaltning"),
                ("name", "Arbetsmarknadsförvaltningen"),
                ("from", &pf),
                ("to", &pt),
                ("total", "2"),
                ("text", "Arbetsmarknadsförvaltningen uppgav att de observerat ett klistermärke."),
            ],
        )
        .await;
    assert!(arbets.contains("Källan är tillagd."));
    let id = app
        .store
        .sources(year)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, e)| e.name == "Arbetsmarknadsförvaltningen")
        .unwrap()
        .0;
    coordinator.get(&format!("{src}/kallor/{id}")).await;
    coordinator
        .post(
            &format!("{src}/kallor/{id}"),
            &[
                ("kind", "fackforvaltning"),
                ("name", "Arbetsmarknadsförvaltningen"),
                ("from", &pf),
                ("to", &pt),
                ("total", "1"),
                ("count.klistermarken.vit_makt", "1"),
                ("text", "Arbetsmarknadsförvaltningen uppgav att de observerat ett klistermärke."),
            ],
        )
        .await;
    coordinator.post(&format!("{src}/faststall"), &[("finalise", "ja")]).await;
    let locked = coordinator
        .post(
            &format!("{src}/kallor/{id}"),
            &[("kind", "annan"), ("name", "X"), ("from", &pf), ("to", &pt), ("text", "Ändrat.")],
        )
        .await;
    assert!(locked.contains("är fastställd"), "{}", locked.body);
    let log_page = coordinator.get("/admin/logg").await;
    for action in ["lade till en källa i lägesbilden", "ändrade en källa i lägesbilden", "fastställde lägesbilden"]
    {
        assert!(log_page.contains(action), "{action}");
    }

    // The seed-like round: most saw nothing; the external actors saw leaflets and vandalism
    // from all three milieus, and three had relatives come to them.
    let mut rows: Vec<(String, &str, &str)> =
        (0..8).map(|i| (format!("forskola{i}@example.se"), "intern", "forskola")).collect();
    rows.extend((0..6).map(|i| (format!("forening{i}@example.se"), "extern", "forening")));
    let roster: Vec<(&str, &str, &str)> = rows.iter().map(|(e, g, c)| (e.as_str(), *g, *c)).collect();
    let mut people = app.recipients(&round, &roster).await;
    for r in &mut people[0..8] {
        let pages: [&[(&str, &str)]; 5] = [
            &[("observerat", "nej")],
            &[],
            &[("anhoriga", "nej")],
            &[("avhoppare", "nej"), ("orosanmalningar", "0"), ("ia_rapporter", "0")],
            &[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")],
        ];
        answer_pages(r, &pages).await;
    }
    let seen: [(&str, &str); 3] = [("autonoma", "autonoma"), ("vit_makt", "vit_makt"), ("islamistisk", "islamistisk")];
    for (i, r) in people[8..14].iter_mut().enumerate() {
        let milieu = seen[i % 3].0;
        let mut grid: Vec<(&str, &str)> =
            vec![("uttryck.flygblad", milieu), ("uttryck.skadegorelse", milieu), ("frekvens", "enstaka")];
        if i == 0 {
            grid.push(("uttryck.hot", milieu));
        }
        let relatives: Vec<(&str, &str)> = if i < 3 { vec![("anhoriga", "ja")] } else { vec![("anhoriga", "nej")] };
        let after: Vec<(&str, &str)> = if i < 3 {
            vec![("anhoriga_antal", "1"), ("anhoriga_miljo", seen[i].1), ("avhoppare", "nej")]
        } else {
            vec![("avhoppare", "nej")]
        };
        let pages: [&[(&str, &str)]; 5] =
            [&[("observerat", "ja")], &grid, &relatives, &after, &[("vet_vart_vanda", "delvis")]];
        answer_pages(r, &pages).await;
    }

    // An earlier year from before the system: fewer graffiti reports.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tidigare.csv"),
        format!(
            "question,row,column,group,code,count,share,base,year\n\
             _svarsfrekvens,,,alla,_svarande,20,0.8,25,{earlier}\n\
             _incidentrapporter,klotter,,alla,_rapporter,4,,0,{earlier}\n\
             _incidentrapporter,vald,,alla,_rapporter,1,,0,{earlier}\n",
            earlier = year - 1
        ),
    )
    .unwrap();
    lagesbild_in(&app, d, &["history", "import", "--survey", "lagesbild", "tidigare.csv"]);

    // The tallies: the reports of the twelve months by kind × milieu, small counts withheld.
    lagesbild_in(&app, d, &["export", "tallies", "--round", "r", "--out", "siffror.csv"]);
    let mut reader = csv::Reader::from_path(d.join("siffror.csv")).unwrap();
    let tallies: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let figure = |row: &str, col: &str| -> (String, String) {
        let f = tallies
            .iter()
            .find(|f| &f[0] == "_incidentrapporter" && &f[1] == row && &f[2] == col)
            .unwrap_or_else(|| panic!("no figure {row} {col}"));
        (f[4].to_string(), f[5].to_string())
    };
    // 32 reports in the twelve months (30, and 2 through the capped link), 2 marked: 30
    // counted. The one from before the months is not.
    assert_eq!(figure("", ""), ("_rapporter".into(), "30".into()));
    assert_eq!(figure("klotter", ""), ("_rapporter".into(), "12".into()));
    assert_eq!(figure("klotter", "vit_makt"), ("_rapporter".into(), "12".into()));
    assert_eq!(figure("hot", ""), ("_rapporter".into(), "3".into()));
    // Vald: the two from the capped link (under k = 3) are withheld. Beside the published
    // total, that would be 30 minus the other kinds: the smallest other kind (demonstrations,
    // 3) is withheld too, and from there what would give it away (its cell, the leaflets
    // beside it in vit makt, the vandalism beside vald in "okänd").
    assert_eq!(figure("vald", "").0, "_skyddat");
    assert_eq!(figure("vald", "okand").0, "_skyddat");
    for (row, col) in
        [("demonstration", ""), ("demonstration", "vit_makt"), ("flygblad", "vit_makt"), ("skadegorelse", "okand")]
    {
        assert_eq!(figure(row, col), ("_skyddat".into(), "0".into()), "{row} {col}");
    }

    // The report: Markdown, checked bullet by bullet against the figures.
    lagesbild_in(&app, d, &["report", "--round", "r", "--format", "markdown", "--out", "lagesbild.md"]);
    let md = std::fs::read_to_string(d.join("lagesbild.md")).unwrap();
    let bullets: Vec<&str> =
        md.split("Följande har framkommit").nth(1).unwrap().split("\n\n").nth(1).unwrap().lines().collect();
    let expected = [
        "- Alla former av extremism förekommer i området.".to_string(),
        format!("- {}", entries[0].3),
        format!("- {}", entries[1].3),
        format!("- {}", entries[2].3),
        format!("- {}", entries[3].3),
        format!("- {}", entries[4].3),
        "- Av de 14 svarande har majoriteten (57 %) inte sett uttryck för våldsbejakande extremism i området; sex svarande uppger att de har sett sådana uttryck under de senaste tolv månaderna.".into(),
        "- Tillfrågade fackförvaltningar (utbildningsförvaltningen och idrottsförvaltningen) inrapporterade inga händelser gällande våldsbejakande extremism i området, utöver Trafikkontoret och Arbetsmarknadsförvaltningen. Trafikkontoret inrapporterade skadegörelse i form av klotter. Arbetsmarknadsförvaltningen uppgav att de observerat ett klistermärke.".into(),
    ];
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(bullets.get(i).copied(), Some(want.as_str()), "bullet {i} in:\n{md}");
    }
    let rest = bullets[expected.len()..].join("\n");
    for want in [
        "- Vanligast är flygblad eller affischering (sex svarande, från",
        &format!(
            "- 30 rapporter om iakttagelser under {} har kommit in med blanketten för oidentifierad information; de gäller klotter (12), klistermärken (6), hot och kränkningar (3), annan skadegörelse (ej redovisat), demonstrationer (ej redovisat), flygblad eller affischering (ej redovisat), våld (ej redovisat).",
            lagesbild::incident::swedish_period(from, to)
        ),
        "Tre rapporter har räknats bort som felregistrerade eller utan koppling till våldsbejakande extremism.",
        "- Av de svarande bland externa aktörer uppger tre svarande att anhöriga har tagit kontakt angående oro för radikalisering (den autonoma miljön (vänsterextremism), vit makt-miljön (högerextremism) och den våldsbejakande islamistiska miljön). Bland externa aktörer är det vanligast med flygblad eller affischering och annan skadegörelse; i mindre utsträckning förekommer hot och kränkningar.",
    ] {
        assert!(rest.contains(want), "{want}\nin:\n{rest}");
    }
    assert!(!md.contains("Budskap på en elskåp"), "report descriptions are never quoted");
    for want in [
        &format!("- Jämfört med {} har antalet incidentrapporter om klotter ökat, från 4 till 12.", year - 1),
        &format!("- Jämfört med {} har antalet ärenden hos ia-systemet ökat, från 1 till 3.", year - 1),
        "| Klotter | 0 | 12 | 0 | 0 | 12 |",
        "### Källor",
        "- **Trafikkontoret** (Fackförvaltning), januari",
        "- **Polisen**, januari",
    ] {
        assert!(md.contains(want), "{want}\nin:\n{md}");
    }

    assert!(
        md.contains(
            "- Två artiklar om klistermärken. # Inte en rubrik \\[länk\\](javascript:alert(1)) \\<b\\>fet\\</b\\>"
        ),
        "{md}"
    );
    let shown_as_written = "Två artiklar om klistermärken. # Inte en rubrik [länk](javascript:alert(1)) <b>fet</b>";

    // HTML: the same text, charts embedded.
    let html = lagesbild_in(&app, d, &["report", "--round", "r", "--format", "html"]);
    assert!(
        html.contains(
            "Två artiklar om klistermärken. # Inte en rubrik [länk](javascript:alert(1)) &lt;b&gt;fet&lt;/b&gt;"
        ),
        "{html}"
    );
    assert!(!html.contains("href=\"javascript") && !html.contains("<b>fet"), "{html}");
    assert!(html.starts_with("<!doctype html>") && html.contains("data:image/png;base64,"));
    assert!(html.contains("<li>Alla former av extremism förekommer i området.</li>"), "{html}");
    assert!(html.contains("<td>12</td>"));

    // Word, read back with python-docx: headings, bullets, the table, images with alt text.
    lagesbild_in(&app, d, &["report", "--round", "r", "--format", "docx", "--out", "lagesbild.docx"]);
    let read = Command::new("python3")
        .arg(project_dir().join("tests/e2e/read_docx.py"))
        .arg(d.join("lagesbild.docx"))
        .output()
        .expect("python3 runs (README: python3-docx)");
    assert!(
        read.status.success(),
        "python-docx could not read the document: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    let texts =
        |key: &str| doc[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(texts("headings")[0], format!("Lokal lägesbild {year}"));
    for h in ["Kartläggning", "Jämfört med tidigare år", "Incidentrapporter per sort och miljö", "Diagram", "Källor"]
    {
        assert!(texts("headings").iter().any(|t| t == h), "heading {h}: {:?}", texts("headings"));
    }
    let bullets_docx = texts("bullets");
    for want in expected.iter().map(|b| b.trim_start_matches("- ")) {
        assert!(bullets_docx.iter().any(|b| b == want), "{want} in {bullets_docx:?}");
    }
    assert!(bullets_docx.iter().any(|b| b == shown_as_written), "{bullets_docx:?}");
    let table = &doc["tables"][0];
    assert_eq!(table[0][0], "Sort");
    assert!(table.as_array().unwrap().iter().any(|row| row[0] == "Klotter" && row[2] == "12"), "{table}");
    let images = doc["images"].as_array().unwrap();
    assert!(images.len() >= 3, "{images:?}");
    assert!(
        images.iter().all(|alt| alt.as_str().is_some_and(|a| a.contains("Alla värden") || a.len() > 20)),
        "{images:?}"
    );

    // The results page offers the Word document too.
    let res = analyst.download("/admin/omgangar/r/rapport.docx").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("wordprocessingml"));
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));

    // The reporter's address: nowhere in the database, nowhere in the log.
    let db = database_text(&app).await;
    assert!(db.contains("Budskap på en elskåp"), "the search reads the reports' table");
    assert!(!db.contains(REPORTER_ADDRESS), "the reporter's address is stored");
    let log = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(log.contains("route=/admin/rapportlankar"), "the server's log was captured");
    assert!(!log.contains(REPORTER_ADDRESS), "the reporter's address is logged");
    assert!(!log.contains("route=/rapportera/"), "a report's moment is logged");
}
