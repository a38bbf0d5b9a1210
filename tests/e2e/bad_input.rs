//! Bad input of every kind, as careless and hostile users send it: roster files (through the
//! upload page and the command line), survey files, the respondent's form, the admin forms,
//! the login, links and methods. Each case checks what the person sees (the status, the
//! sentence, the line) and that nothing stored changed: the database is read before and
//! after, table by table. (On the respondent's form a page with errors keeps what was typed
//! in the draft, as every page does; there the check is that no response was stored.)

use crate::helpers::{Browser, PASSWORD, TestApp, days_from_today, project_dir};
use crate::on_both_engines;
use lagesbild::account::Role;

on_both_engines!(
    bad_roster_files_are_refused_whole_naming_each_line_on_the_upload_page,
    bad_roster_files_are_refused_whole_naming_each_line_on_the_command_line,
    bad_respondent_posts_are_answered_with_a_sentence_and_store_no_response,
    bad_admin_forms_are_answered_with_a_sentence_and_change_nothing,
    bad_logins_and_links_are_answered_with_a_page_and_change_nothing,
);

/// Every table's rows, in a stable order, as text: equal before and after means nothing changed.
async fn snapshot(database_url: &str) -> String {
    use sqlx::{Column, Row};
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let tables = [
        "settings",
        "rounds",
        "round_mail",
        "recipients",
        "tokens",
        "drafts",
        "responses",
        "outbox",
        "history_figures",
        "accounts",
        "audit_log",
        "roster_uploads",
    ];
    let mut out = String::new();
    for table in tables {
        let sql = sqlx::AssertSqlSafe(format!("SELECT * FROM {table}"));
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                (0..row.columns().len())
                    .map(|i| {
                        let column = row.columns()[i].name();
                        let text = row
                            .try_get::<String, _>(i)
                            .or_else(|_| row.try_get::<i64, _>(i).map(|v| v.to_string()))
                            .or_else(|_| row.try_get::<bool, _>(i).map(|v| v.to_string()))
                            .or_else(|_| row.try_get::<f64, _>(i).map(|v| v.to_string()))
                            .unwrap_or_else(|_| "NULL".into());
                        format!("{column}={text}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        lines.sort();
        out.push_str(&format!("{table}: {}\n{}\n", lines.len(), lines.join("\n")));
    }
    pool.close().await;
    out
}

/// The page's main content, without the layout around it, for messages.
fn main_text(html: &str) -> String {
    let main = html.split("<main").nth(1).and_then(|m| m.split("</main>").next()).unwrap_or(html);
    main.chars().take(600).collect()
}

fn unescaped(html: &str) -> String {
    html.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

const HEADER: &str = "email,name,organisation,group,category\n";

/// (what is wrong, the file, what the coordinator must read)
fn bad_rosters() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let row = |rest: &str| format!("{HEADER}{rest}").into_bytes();
    vec![
        ("an empty file", b"".to_vec(), "rad 1: filen är tom"),
        ("only the header", HEADER.as_bytes().to_vec(), "rad 2: filen har kolumnrad men inga mottagare."),
        ("no email column", b"name,organisation,group,category\nA,B,intern,skola\n".to_vec(), "rad 1: kolumnen email saknas"),
        (
            "two columns missing",
            b"email;organisation\nx@example.se;A\n".to_vec(),
            "rad 1: kolumnerna group, category saknas",
        ),
        ("Latin-1 from old Excel", row("a@example.se,\u{0}X,Skolan,intern,skola\n").iter().map(|&b| if b == 0 { 0xc5 } else { b }).collect(), "rad 2: filen är inte UTF-8"),
        ("an address without @", row("inte-en-adress,,Skolan,intern,skola\n"), "rad 2: \"inte-en-adress\" är inte en giltig e-postadress"),
        ("no address", row(",Anna,Skolan,intern,skola\n"), "rad 2: e-postadress saknas"),
        ("a domain without a dot", row("a@localhost,,Skolan,intern,skola\n"), "rad 2: \"a@localhost\" är inte en giltig e-postadress"),
        ("a space inside the address", row("a b@example.se,,Skolan,intern,skola\n"), "rad 2: \"a b@example.se\" är inte en giltig e-postadress"),
        (
            "the same address twice",
            row("a@example.se,,Skolan,intern,skola\na@example.se,,Skolan,intern,skola\n"),
            "rad 3: a@example.se finns redan på rad 2",
        ),
        (
            "the same address in other letters",
            row("a@example.se,,Skolan,intern,skola\nA@Example.SE,,Skolan,intern,skola\n"),
            "rad 3: a@example.se finns redan på rad 2",
        ),
        ("no organisation", row("a@example.se,Anna,,intern,skola\n"), "rad 2: organisation saknas"),
        ("no group", row("a@example.se,,Skolan,,skola\n"), "rad 2: group saknas"),
        ("an unknown group", row("a@example.se,,Skolan,privat,skola\n"), "rad 2: group \"privat\" finns inte"),
        ("no category", row("a@example.se,,Skolan,intern,\n"), "rad 2: category saknas"),
        (
            "a category with a space",
            row("a@example.se,,Skolan,intern,för skola\n"),
            "rad 2: category \"för skola\" får bara innehålla bokstäver",
        ),
        ("a NUL byte in a name", row("a@example.se,An\u{0}na,Skolan,intern,skola\n"), "rad 2: name innehåller ett otillåtet tecken (U+0000)"),
        (
            "a bell character in an organisation",
            row("a@example.se,,Sko\u{7}lan,intern,skola\n"),
            "rad 2: organisation innehåller ett otillåtet tecken (U+0007)",
        ),
        (
            "an unclosed quote",
            row("a@example.se,\"Anna,Skolan,intern,skola\nb@example.se,,Skolan,intern,skola\n"),
            "rad 2: citattecknet på rad 2 avslutas aldrig",
        ),
        (
            "CRLF line ends, the bad row on line 3",
            b"email,name,organisation,group,category\r\nok@example.se,,Skolan,intern,skola\r\nfel,,Skolan,intern,skola\r\n".to_vec(),
            "rad 3: \"fel\" är inte en giltig e-postadress",
        ),
        (
            "semicolons and a bad row",
            b"email;name;organisation;group;category\nfel;;Skolan;intern;skola\n".to_vec(),
            "rad 2: \"fel\" är inte en giltig e-postadress",
        ),
        ("a short row", row("a@example.se,Anna\n"), "rad 2: organisation saknas; group saknas"),
        (
            "a BOM and an unknown group",
            format!("\u{feff}{HEADER}a@example.se,,Skolan,kyrka,skola\n").into_bytes(),
            "rad 2: group \"kyrka\" finns inte",
        ),
        (
            "a line break inside a quoted cell, the bad row after it",
            row("a@example.se,\"Anna\r\nBerg\",Skolan,intern,skola\nfel,,Skolan,intern,skola\n"),
            "rad 4: \"fel\" är inte en giltig e-postadress",
        ),
        (
            "a good row among bad ones",
            row("fel1,,Skolan,intern,skola\nok@example.se,,Skolan,intern,skola\nfel2,,Skolan,intern,skola\n"),
            "rad 4: \"fel2\" är inte en giltig e-postadress",
        ),
    ]
}

async fn bad_roster_files_are_refused_whole_naming_each_line_on_the_upload_page(app: TestApp) {
    let round = app.open_round("r").await;
    crate::helpers::import_roster(&app.store, &round, &format!("{HEADER}finns@example.se,,Skolan,intern,skola\n"))
        .await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let path = "/admin/omgangar/r/mottagare/importera";
    let before = snapshot(&app.settings.database_url).await;
    let mut wrong = Vec::new();
    for (what, file, expected) in bad_rosters() {
        // An empty file is taken as no file chosen at all.
        let expected = if file.is_empty() { "Ingen fil valdes" } else { expected };
        coordinator.get(path).await;
        let form = reqwest::multipart::Form::new()
            .text("csrf", coordinator.csrf())
            .part("file", reqwest::multipart::Part::bytes(file).file_name("mottagare.csv"));
        let res = coordinator.client.post(format!("{}{path}", app.base)).multipart(form).send().await.unwrap();
        let status = res.status().as_u16();
        let body = unescaped(&res.text().await.unwrap());
        let shown = body.split("<ul>").nth(1).and_then(|b| b.split("</ul>").next()).unwrap_or(&body).to_string();
        if status != 422 || !body.contains(expected) || !body.contains("Inget importerades") {
            wrong.push(format!("{what}: {status}, expected «{expected}» in {shown}"));
        }
        assert_eq!(snapshot(&app.settings.database_url).await, before, "{what}: something stored changed");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn bad_roster_files_are_refused_whole_naming_each_line_on_the_command_line(app: TestApp) {
    let round = app.open_round("r").await;
    crate::helpers::import_roster(&app.store, &round, &format!("{HEADER}finns@example.se,,Skolan,intern,skola\n"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let before = snapshot(&app.settings.database_url).await;
    let mut wrong = Vec::new();
    for (what, file, expected) in bad_rosters() {
        let path = dir.path().join("mottagare.csv");
        std::fs::write(&path, file).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lagesbild"))
            .args(["roster", "import", "--round", "r", path.to_str().unwrap()])
            .current_dir(dir.path())
            .env("DATABASE_URL", &app.settings.database_url)
            .env("SURVEYS_DIR", project_dir().join("surveys"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(2) || !stderr.contains(expected) {
            wrong.push(format!("{what}: exit {:?}, expected «{expected}» in {stderr}", out.status.code()));
        }
        assert_eq!(snapshot(&app.settings.database_url).await, before, "{what}: something stored changed");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn bad_respondent_posts_are_answered_with_a_sentence_and_store_no_response(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "enhet@example.se", "intern").await;
    let first = r.open().await;
    let csrf = first.hidden("csrf").unwrap();
    // `{v}` in a body is the draft's version when the case is sent.
    let version = "{v}";
    let long = "x".repeat(70 * 1024);
    // (what, body, status, sentence)
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("no CSRF token", format!("step=0&version={version}&q.observerat=ja"), 403, "säkerhetskod"),
        ("a wrong CSRF token", format!("csrf=fel&step=0&version={version}&q.observerat=ja"), 403, "säkerhetskod"),
        ("no step", format!("csrf={csrf}&version={version}&q.observerat=ja"), 400, "gick inte att läsa"),
        (
            "a step that does not exist",
            format!("csrf={csrf}&step=99&version={version}&q.observerat=ja"),
            400,
            "gick inte att läsa",
        ),
        ("a step that is not a number", format!("csrf={csrf}&step=x&version={version}"), 400, "gick inte att läsa"),
        ("no version", format!("csrf={csrf}&step=0&q.observerat=ja"), 409, "ändrades i ett annat fönster"),
        (
            "a version from the future",
            format!("csrf={csrf}&step=0&version=99&q.observerat=ja"),
            409,
            "ändrades i ett annat fönster",
        ),
        (
            "an option that does not exist",
            format!("csrf={csrf}&step=0&version={version}&q.observerat=kanske"),
            422,
            "alternativ som inte finns",
        ),
        (
            "nothing chosen on a required question",
            format!("csrf={csrf}&step=0&version={version}"),
            422,
            "Välj ett av svarsalternativen",
        ),
        ("bytes that are not UTF-8", format!("csrf={csrf}&step=0&version={version}&q.observerat=%FF"), 400, "UTF-8"),
        ("a NUL byte", format!("csrf={csrf}&step=0&version={version}&q.observerat=ja%00"), 400, "otillåtet tecken"),
        (
            "a body over the limit",
            format!("csrf={csrf}&step=0&version={version}&q.observerat={long}"),
            413,
            "större än",
        ),
        ("not a form at all", "{\"observerat\":\"ja\"}".to_string(), 403, "säkerhetskod"),
        ("an empty body", String::new(), 403, "säkerhetskod"),
    ];
    let mut wrong = Vec::new();
    for (what, body, status, sentence) in cases {
        let current = r.open().await.hidden("version").unwrap();
        let page = r.post_raw(body.replace("{v}", &current)).await;
        let text = unescaped(&page.body);
        if page.status != status || !text.contains(sentence) {
            wrong.push(format!("{what}: {} expected {status} «{sentence}» in {}", page.status, main_text(&text)));
        }
        assert!(app.store.responses(round.id).await.unwrap().is_empty(), "{what}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Links that lead nowhere, and methods a form does not take.
    let client = reqwest::Client::new();
    for (what, path) in [
        ("an unknown link", "/s/finns-inte".to_string()),
        ("a link with a missing character", format!("/s/{}", &r.token()[1..])),
        ("a link of odd characters", "/s/%C3%A5%C3%A4%C3%B6".to_string()),
        ("a very long link", format!("/s/{}", "a".repeat(5000))),
    ] {
        let res = client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{what}");
        assert!(res.text().await.unwrap().contains("Länken fungerar inte"), "{what}");
    }
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
        let res = client.request(method.clone(), &r.url).send().await.unwrap();
        assert_eq!(res.status(), 405, "{method}");
    }
    assert!(app.store.responses(round.id).await.unwrap().is_empty());
}

/// What is wrong, the page shown first, the path posted to, the fields, the status and the sentence.
type AdminCase = (&'static str, &'static str, &'static str, Vec<(&'static str, String)>, u16, &'static str);

async fn bad_admin_forms_are_answered_with_a_sentence_and_change_nothing(app: TestApp) {
    app.open_round("r").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let (opens, closes) = (days_from_today(-1).to_string(), days_from_today(9).to_string());
    let long = "å".repeat(5_000);
    let new_round = |changes: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("survey", "lagesbild".to_string()),
            ("year", "2027".to_string()),
            ("opens", opens.clone()),
            ("closes", closes.clone()),
            ("threshold", "5".to_string()),
        ];
        for (k, v) in changes {
            fields.retain(|(f, _)| f != k);
            fields.push((k, v.to_string()));
        }
        fields
    };
    // (what, page to show first, path to post, fields, status, sentence)
    let cases: Vec<AdminCase> = vec![
        (
            "a year of letters",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("year", "tjugo")]),
            422,
            "inget årtal",
        ),
        (
            "a year far off",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("year", "1850")]),
            422,
            "inget årtal",
        ),
        ("a long year", "/admin/omgangar/ny", "/admin/omgangar/ny", new_round(&[("year", &long)]), 422, "inget årtal"),
        (
            "an opening date of words",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("opens", "i morgon")]),
            422,
            "inget datum",
        ),
        (
            "a 30 February",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("closes", "2027-02-30")]),
            422,
            "inget datum",
        ),
        (
            "a last day before the first",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("opens", &closes), ("closes", &opens)]),
            422,
            "kommer före den första",
        ),
        (
            "a last day in the past",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("opens", &days_from_today(-10).to_string()), ("closes", &days_from_today(-3).to_string())]),
            422,
            "redan varit",
        ),
        (
            "a threshold of 2",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("threshold", "2")]),
            422,
            "minst 3",
        ),
        (
            "a threshold of words",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("threshold", "fem")]),
            422,
            "minst 3",
        ),
        (
            "an unknown survey",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("survey", "okand")]),
            422,
            "ingen enkät som heter",
        ),
        (
            "a key with spaces",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("key", "min omgång")]),
            422,
            "Kortnamnet",
        ),
        (
            "a key that exists",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("key", "r")]),
            422,
            "finns redan en omgång",
        ),
        (
            "a reminder schedule of words",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("reminders", "varje vecka")]),
            422,
            "Påminnelseschemat",
        ),
        (
            "an unknown placeholder",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("invitation_subject", "Hej {{namn}}")]),
            422,
            "Ämne, inbjudan: Platshållaren {{namn}} finns inte",
        ),
        (
            "an open placeholder",
            "/admin/omgangar/ny",
            "/admin/omgangar/ny",
            new_round(&[("reminder_text", "Svara {{closes")]),
            422,
            "Text, påminnelse: ",
        ),
        (
            "a new last day of words",
            "/admin/omgangar/r/svarstid",
            "/admin/omgangar/r/datum",
            vec![("closes", "snart".into())],
            200,
            "inget datum",
        ),
        (
            "a new last day in the past",
            "/admin/omgangar/r/svarstid",
            "/admin/omgangar/r/datum",
            vec![("closes", days_from_today(-5).to_string())],
            200,
            "redan varit",
        ),
        (
            "removing an address not on the roster",
            "/admin/omgangar/r/mottagare",
            "/admin/omgangar/r/mottagare/ta-bort",
            vec![("email", "ingen@example.se".into()), ("confirm", "1".into())],
            200,
            "finns inte på mottagarlistan",
        ),
        (
            "removing a long address",
            "/admin/omgangar/r/mottagare",
            "/admin/omgangar/r/mottagare/ta-bort",
            vec![("email", long.clone()), ("confirm", "1".into())],
            200,
            "finns inte på mottagarlistan",
        ),
        (
            "texts with an unknown placeholder",
            "/admin/omgangar/r/utskick",
            "/admin/omgangar/r/utskick-texter",
            vec![("invitation_text", "Hej {{#if}}".into())],
            422,
            "{{#if}} finns inte",
        ),
        (
            "texts with a closing brace only",
            "/admin/omgangar/r/utskick",
            "/admin/omgangar/r/utskick-texter",
            vec![("reminder_subject", "Svara }}".into())],
            422,
            "saknar sin början",
        ),
        (
            "a schedule over a year",
            "/admin/omgangar/r/utskick",
            "/admin/omgangar/r/utskick-texter",
            vec![("reminders", "400".into())],
            200,
            "mer än ett år",
        ),
        (
            "an account with a bad address",
            "/admin/konton",
            "/admin/konton",
            vec![("email", "inte en adress".into()), ("role", "analyst".into())],
            422,
            "är inte en e-postadress",
        ),
        (
            "an account without a role",
            "/admin/konton",
            "/admin/konton",
            vec![("email", "ny@stad.se".into()), ("role", "chef".into())],
            422,
            "Välj en roll",
        ),
        (
            "an account that exists",
            "/admin/konton",
            "/admin/konton",
            vec![("email", "samordnare@stad.se".into()), ("role", "analyst".into())],
            422,
            "finns redan",
        ),
        (
            "sending an unknown kind",
            "/admin/omgangar/r/utskick",
            "/admin/omgangar/r/utskick/spam",
            vec![],
            404,
            "finns inte",
        ),
        (
            "an unknown round",
            "/admin/omgangar/r/utskick",
            "/admin/omgangar/finns-inte/datum",
            vec![("closes", closes.clone())],
            404,
            "ingen omgång som heter",
        ),
        ("an unknown account", "/admin/konton", "/admin/konton/999/stang-av", vec![], 404, "Sidan finns inte"),
        (
            "an account number of letters",
            "/admin/konton",
            "/admin/konton/abc/stang-av",
            vec![],
            404,
            "Sidan finns inte",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, show, path, fields, status, sentence) in cases {
        let before = snapshot(&app.settings.database_url).await;
        coordinator.get(show).await;
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = coordinator.post(path, &fields).await;
        let text = unescaped(&page.body);
        if page.status != status || !text.contains(sentence) {
            wrong.push(format!("{what}: {} expected {status} «{sentence}» in {}", page.status, main_text(&text)));
        }
        assert_eq!(snapshot(&app.settings.database_url).await, before, "{what}: something stored changed");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Forms without a token, with a token of another session, or not forms at all.
    coordinator.get("/admin/omgangar/r/svarstid").await;
    let before = snapshot(&app.settings.database_url).await;
    for (what, body, content_type, status, sentence) in [
        ("no CSRF token", "closes=2030-01-01".to_string(), "application/x-www-form-urlencoded", 403, "säkerhetskod"),
        (
            "another session's token",
            "csrf=abc&closes=2030-01-01".to_string(),
            "application/x-www-form-urlencoded",
            403,
            "säkerhetskod",
        ),
        (
            "JSON",
            "{\"closes\":\"2030-01-01\"}".to_string(),
            "application/json",
            400,
            "gick inte att läsa som ett formulär",
        ),
        (
            "bytes that are not UTF-8",
            format!("csrf={}&closes=%E5", coordinator.csrf()),
            "application/x-www-form-urlencoded",
            400,
            "UTF-8",
        ),
        (
            "a NUL byte",
            format!("csrf={}&closes=%00", coordinator.csrf()),
            "application/x-www-form-urlencoded",
            400,
            "otillåtet tecken",
        ),
    ] {
        let res = coordinator
            .client
            .post(format!("{}/admin/omgangar/r/datum", app.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{what}");
        assert!(unescaped(&res.text().await.unwrap()).contains(sentence), "{what}");
    }
    assert_eq!(snapshot(&app.settings.database_url).await, before);
}

async fn bad_logins_and_links_are_answered_with_a_page_and_change_nothing(app: TestApp) {
    app.account("samordnare@stad.se", Role::Coordinator, PASSWORD).await;
    let before = snapshot(&app.settings.database_url).await;
    let long = "a".repeat(5_000);
    // (what, email, password, status, sentence)
    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        ("an unknown address", "okand@stad.se".into(), PASSWORD.into(), 401, "Fel e-postadress eller lösenord"),
        ("no address", String::new(), PASSWORD.into(), 401, "Fel e-postadress eller lösenord"),
        ("no password", "ny@stad.se".into(), String::new(), 401, "Fel e-postadress eller lösenord"),
        ("a very long address", format!("{long}@stad.se"), PASSWORD.into(), 401, "Fel e-postadress eller lösenord"),
        ("a NUL byte in the address", "samordnare\0@stad.se".into(), PASSWORD.into(), 400, "otillåtet tecken"),
    ];
    let mut wrong = Vec::new();
    for (what, email, password, status, sentence) in cases {
        let mut browser = Browser::new(&app.base);
        let page = browser.login(&email, &password).await;
        let text = unescaped(&page.body);
        if page.status != status || !text.contains(sentence) {
            wrong.push(format!("{what}: {} expected {status} «{sentence}» in {}", page.status, main_text(&text)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(snapshot(&app.settings.database_url).await, before);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (what, path, status) in [
        ("a password link that does not exist", "/admin/losenord/finns-inte", 404),
        ("an admin page without signing in", "/admin/omgangar", 303),
        ("a download without signing in", "/admin/omgangar/r/svar.csv", 303),
        ("an address outside the service", "/wp-login.php", 404),
    ] {
        let res = client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{what}");
    }
    assert_eq!(snapshot(&app.settings.database_url).await, before);
}

#[test]
fn bad_survey_files_are_located_by_line_and_column_and_never_crash() {
    let head = "id = \"prov\"\ntitle = \"Prov\"\ngroups = [{ code = \"intern\", label = \"Intern\" }]\n";
    let section = "[[section]]\nid = \"s\"\ntitle = \"S\"\n";
    let q = |body: &str| format!("{head}{section}[[section.question]]\nid = \"q\"\n{body}\n");
    // (what, file, where, message)
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("not TOML", "id = \n".into(), "1:6:", "string values must be quoted"),
        ("an unknown field", format!("{head}farg = \"röd\"\n"), "4:", "unknown field"),
        ("no groups", "id = \"prov\"\ntitle = \"Prov\"\n".into(), "1:", "no roster groups"),
        ("a section without questions", format!("{head}{section}"), "5:6:", "has no questions"),
        (
            "two sections with one id",
            format!("{head}{section}[[section.question]]\nid = \"q\"\nkind = \"number\"\ntext = \"T\"\n{section}"),
            "",
            "used twice",
        ),
        ("an unknown kind", q("kind = \"checkbox\"\ntext = \"T\""), "9:", "unknown question kind"),
        ("an empty text", q("kind = \"number\"\ntext = \"\""), "10:", "empty text"),
        ("a single without options", q("kind = \"single\"\ntext = \"T\""), "9:", "options"),
        ("a text without max_length", q("kind = \"text\"\ntext = \"T\""), "9:", "max_length"),
        ("a max_length of 0", q("kind = \"text\"\ntext = \"T\"\nmax_length = 0"), "11:", "at least 1"),
        ("min above max", q("kind = \"number\"\ntext = \"T\"\nmin = 5\nmax = 1"), "", "min"),
        (
            "an option with an empty label",
            q("kind = \"single\"\ntext = \"T\"\noptions = [{ code = \"a\", label = \"\" }]"),
            "11:",
            "empty label",
        ),
        (
            "an option code twice",
            q(
                "kind = \"single\"\ntext = \"T\"\noptions = [{ code = \"a\", label = \"A\" }, { code = \"a\", label = \"B\" }]",
            ),
            "11:",
            "twice",
        ),
        ("an unknown list", q("kind = \"single\"\ntext = \"T\"\noptions_from = \"finns_inte\""), "11:", "finns_inte"),
        (
            "options and a list both",
            q("kind = \"single\"\ntext = \"T\"\noptions = [{ code = \"a\", label = \"A\" }]\noptions_from = \"x\""),
            "",
            "not both",
        ),
        (
            "a condition on a later question",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"senare = ja\""),
            "11:",
            "not a question in this survey",
        ),
        (
            "a condition on an unknown group",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"group = privat\""),
            "11:",
            "not a roster group",
        ),
        (
            "a condition with a bad operator",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"group ~ intern\""),
            "11:",
            "unexpected character",
        ),
        (
            "a condition that ends early",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"group =\""),
            "11:",
            "ends where a value",
        ),
        (
            "a condition with an open parenthesis",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"(group = intern\""),
            "11:",
            "`)`",
        ),
        (
            "a condition 3,000 parentheses deep",
            q(&format!(
                "kind = \"number\"\ntext = \"T\"\nshown_when = \"{}group = intern{}\"",
                "(".repeat(3000),
                ")".repeat(3000)
            )),
            "11:",
            "nested more than",
        ),
        (
            "a condition 20,000 nots deep",
            q(&format!("kind = \"number\"\ntext = \"T\"\nshown_when = \"{}group = intern\"", "not ".repeat(20_000))),
            "11:",
            "nested more than",
        ),
        (
            "a condition of 5,000 comparisons",
            q(&format!(
                "kind = \"number\"\ntext = \"T\"\nshown_when = \"{}\"",
                vec!["group = intern"; 5000].join(" and ")
            )),
            "11:",
            "comparisons",
        ),
        (
            "an escape before non-ASCII text",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"\\tåå$\""),
            "11:",
            "unexpected character `$`",
        ),
        (
            "group compared with <",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"group < intern\""),
            "11:",
            "only be compared with = or !=",
        ),
        (
            "a condition on the category",
            q("kind = \"number\"\ntext = \"T\"\nshown_when = \"category = skola\""),
            "11:",
            "a condition cannot look at `category`",
        ),
        (
            "an id with a space",
            format!("{head}{section}[[section.question]]\nid = \"en fråga\"\nkind = \"number\"\ntext = \"T\"\n"),
            "8:",
            "en fråga",
        ),
        (
            "a question id twice",
            format!(
                "{head}{section}[[section.question]]\nid = \"q\"\nkind = \"number\"\ntext = \"T\"\n[[section.question]]\nid = \"q\"\nkind = \"number\"\ntext = \"T\"\n"
            ),
            "12:",
            "used twice",
        ),
        (
            "a string where a number belongs",
            q("kind = \"number\"\ntext = \"T\"\nmin = \"noll\""),
            "11:7:",
            "expected i64",
        ),
        ("a file that ends inside a string", format!("{head}title2 = \"oavslutad\n"), "4:", ""),
    ];
    let mut wrong = Vec::new();
    for (what, source, place, message) in cases {
        let problems: Vec<String> = match lagesbild::survey::parse_new(&source) {
            Ok(_) => vec!["accepted".into()],
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        };
        if !problems.iter().any(|p| p.starts_with(place) && p.contains(message)) {
            wrong.push(format!("{what}: expected «{place}…{message}» in {problems:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
