//! The command line, run as the real binary: checking definitions, creating rounds,
//! importing rosters, writing links, and serving them.

use crate::helpers::{Engine, PASSWORD, Respondent, fresh_database, project_dir};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn lagesbild(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("SURVEYS_DIR", project_dir().join("surveys"))
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn survey_check_summarises_a_good_file_and_locates_every_problem_in_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = project_dir().join("surveys/lagesbild.toml");
    let out = lagesbild(dir.path(), "sqlite://unused.db", &["survey", "check", good.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.contains("ok: survey `lagesbild`, 3 sections, 17 questions (8 conditional), 5 pages"), "{stdout}");

    let broken = dir.path().join("trasig.toml");
    let source = std::fs::read_to_string(&good)
        .unwrap()
        .replace("id = \"valrorelse\"", "id = \"forandring\"")
        .replace(
            "shown_when = \"anhoriga = ja\"\ntext = \"Ungefär",
            "shown_when = \"anhoriga = kanske\"\ntext = \"Ungefär",
        )
        .replace("kind = \"multiple\"\nrequired = true", "kind = \"checkbox\"\nrequired = true");
    std::fs::write(&broken, source).unwrap();
    let out = lagesbild(dir.path(), "sqlite://unused.db", &["survey", "check", broken.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    let problems: Vec<&str> = stderr.lines().filter(|l| l.contains("trasig.toml:")).collect();
    assert_eq!(problems.len(), 3, "{stderr}");
    assert!(problems[0].contains("the question id `forandring` is used twice"), "{}", problems[0]);
    assert!(problems[1].contains("`kanske` is not an option code of `anhoriga`"), "{}", problems[1]);
    assert!(problems[2].contains("unknown question kind `checkbox`"), "{}", problems[2]);
    for p in problems {
        let location: Vec<&str> = p.splitn(4, ':').collect();
        assert!(location[1].parse::<u32>().is_ok() && location[2].parse::<u32>().is_ok(), "{p}");
    }

    // The server refuses to start on a broken definition, with the same messages.
    let surveys = dir.path().join("surveys");
    std::fs::create_dir(&surveys).unwrap();
    std::fs::copy(&broken, surveys.join("trasig.toml")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", "sqlite://data/x.db")
        .env("SURVEYS_DIR", &surveys)
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("the question id `forandring` is used twice"), "{stderr}");
}

#[test]
fn the_roster_import_refuses_a_file_with_any_bad_row_and_adds_nobody_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = "sqlite://data/lagesbild.db";
    let out = lagesbild(
        dir.path(),
        db,
        &[
            "round",
            "create",
            "--survey",
            "lagesbild",
            "--year",
            "2027",
            "--opens",
            "2027-03-01",
            "--closes",
            "2027-03-31",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = lagesbild(
        dir.path(),
        db,
        &[
            "round",
            "create",
            "--survey",
            "lagesbild",
            "--year",
            "2027",
            "--opens",
            "2027-03-01",
            "--closes",
            "2027-03-31",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("Det finns redan en omgång med kortnamnet lagesbild-2027"));

    let bad = dir.path().join("fel.csv");
    std::fs::write(&bad, "\u{feff}email;name;organisation;group;category\nok@example.se;;Skolan;intern;skola\nfel;;Skolan;intern;skola\nx@example.se;;Kyrkan;kyrka;trossamfund\n").unwrap();
    let out = lagesbild(dir.path(), db, &["roster", "import", "--round", "lagesbild-2027", bad.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("inget importerades, 2 rad(er) har fel"), "{stderr}");
    assert!(stderr.contains("rad 3: \"fel\" är inte en giltig e-postadress"), "{stderr}");
    assert!(stderr.contains("rad 4: group \"kyrka\" finns inte"), "{stderr}");
    let (list, _) = text(&lagesbild(dir.path(), db, &["round", "list"]));
    assert!(list.contains("0 mottagare"), "{list}");

    let sample = project_dir().join("tests/data/recipients.csv");
    let rows = std::fs::read_to_string(&sample).unwrap().lines().filter(|l| !l.trim().is_empty()).count() - 1;
    let out = lagesbild(dir.path(), db, &["roster", "import", "--round", "lagesbild-2027", sample.to_str().unwrap()]);
    assert!(text(&out).0.contains(&format!("{rows} nya mottagare, 0 fanns redan")), "{:?}", text(&out));
    let out = lagesbild(dir.path(), db, &["roster", "import", "--round", "lagesbild-2027", sample.to_str().unwrap()]);
    assert!(text(&out).0.contains(&format!("0 nya mottagare, {rows} fanns redan")), "{:?}", text(&out));
    let (list, _) = text(&lagesbild(dir.path(), db, &["round", "list"]));
    assert!(list.contains(&format!("{rows} mottagare")), "{list}");
}

fn cli_flow_on(engine: Engine) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let Some((db, _guard)) = rt.block_on(fresh_database(engine, &dir)) else { return };
    let today = lagesbild::round::today();
    let (opens, closes) = (today.yesterday().unwrap().to_string(), today.tomorrow().unwrap().to_string());
    let year = today.year().to_string();
    let out = lagesbild(
        dir.path(),
        &db,
        &[
            "round",
            "create",
            "--survey",
            "lagesbild",
            "--year",
            &year,
            "--opens",
            &opens,
            "--closes",
            &closes,
            "--key",
            "mars",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let sample = project_dir().join("tests/data/recipients.csv");
    assert!(
        lagesbild(dir.path(), &db, &["roster", "import", "--round", "mars", sample.to_str().unwrap()]).status.success()
    );

    // The server, as an operator starts it.
    let mut server = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &db)
        .env("SURVEYS_DIR", project_dir().join("surveys"))
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .env("LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first.split_whitespace().find(|w| w.starts_with("http://")).expect("the address is printed").to_string();
    // Both pipes are drained while the server runs, or a full pipe would stall it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let mut stderr = server.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).unwrap();
        logs
    });

    let out = lagesbild(dir.path(), &db, &["--base-url", &base, "links", "--round", "mars", "--out", "lankar.csv"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let mut links = csv::Reader::from_path(dir.path().join("lankar.csv")).unwrap();
    assert_eq!(links.headers().unwrap(), vec!["email", "name", "organisation", "link"]);
    let links: Vec<(String, String, String, String)> = links.deserialize().map(Result::unwrap).collect();
    let solrosen = links.iter().find(|l| l.0.starts_with("forskolan.solrosen")).unwrap();
    assert_eq!((solrosen.1.as_str(), solrosen.2.as_str()), ("Maria Åkesson", "Förskolan Solrosen"));
    let links: Vec<(String, String)> = links.into_iter().map(|(e, _, _, l)| (e, l)).collect();
    let sample_rows = std::fs::read_to_string(&sample).unwrap().lines().filter(|l| !l.trim().is_empty()).count() - 1;
    assert_eq!(links.len(), sample_rows);
    let (email, link) = links.iter().find(|(e, _)| e.starts_with("forskolan.solrosen")).unwrap().clone();
    assert!(link.starts_with(&format!("{base}/s/")));

    let secret_text = "Hemlig iakttagelse vid Solrosen";
    rt.block_on(async {
        let mut r = Respondent::new(&link);
        assert_eq!(r.open().await.status, 200);
        r.next(&[("observerat", "ja")]).await;
        r.next(&[("uttryck.klotter", "vit_makt"), ("beskrivning", secret_text)]).await;
        r.next(&[("anhoriga", "nej")]).await;
        r.next(&[("avhoppare", "nej")]).await;
        let p = r.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")]).await;
        assert!(p.contains("Tack för ditt svar!"));
    });
    let (list, _) = text(&lagesbild(dir.path(), &db, &["round", "list"]));
    assert!(list.contains(&format!("{sample_rows} mottagare\t1 svar")), "{list}");

    // `--pending` leaves out who has answered.
    let out = lagesbild(dir.path(), &db, &["links", "--round", "mars", "--pending"]);
    let (pending, _) = text(&out);
    assert_eq!(pending.lines().count(), sample_rows);
    assert!(!pending.contains(&email));

    // The first account, made on the command line; its password is chosen through the link.
    let out =
        lagesbild(dir.path(), &db, &["--base-url", &base, "user", "add", "--role", "coordinator", "anna@stad.se"]);
    let (said, _) = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Kontot anna@stad.se (samordnare) är skapat"), "{said}");
    let password_link =
        said.lines().find_map(|l| l.trim().strip_prefix(&base)).expect("a link to this server").to_string();
    rt.block_on(async {
        let mut browser = crate::helpers::Browser::new(&base);
        browser.get(&password_link).await;
        let page = browser.post(&password_link, &[("password", PASSWORD), ("again", PASSWORD)]).await;
        assert!(page.contains("Lösenordet är sparat"), "{}", page.body);
        let page = browser.login("anna@stad.se", PASSWORD).await;
        assert!(page.contains("anna@stad.se (samordnare)"));
        assert!(page.contains("mars"), "the round is listed");
        // What was done on the command line is in the audit log too.
        let page = browser.get("/admin/logg").await;
        assert!(page.contains("kommandoraden"), "{}", page.body);
        for action in ["skapade omgången", "importerade mottagare", "laddade ner personliga länkar", "lade till konto"]
        {
            assert!(page.contains(action), "{action}");
        }
    });
    let (accounts, _) = text(&lagesbild(dir.path(), &db, &["user", "list"]));
    assert_eq!(accounts.trim(), "anna@stad.se\tsamordnare\taktivt");

    server.kill().unwrap();
    server.wait().unwrap();
    let logs = logs.join().unwrap();
    assert!(!logs.contains(PASSWORD), "a password in the logs");
    assert!(!logs.contains(password_link.rsplit('/').next().unwrap()), "a password link in the logs");
    assert!(logs.contains("route=/s/{token}"), "requests are logged by route: {logs}");
    let token = link.rsplit('/').next().unwrap();
    assert!(!logs.contains(token), "a token in the logs");
    assert!(!logs.contains(secret_text) && !logs.contains("vit_makt"), "an answer in the logs");
    assert!(!logs.contains(&email), "an address in the logs");
}

#[test]
fn a_coordinator_creates_a_round_imports_the_roster_and_hands_out_links_on_sqlite() {
    cli_flow_on(Engine::Sqlite);
}

#[test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
fn a_coordinator_creates_a_round_imports_the_roster_and_hands_out_links_on_postgres() {
    cli_flow_on(Engine::Postgres);
}

#[test]
fn the_demo_started_in_an_empty_folder_prints_links_that_answer_the_form_and_open_the_admin_pages() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("BASE_URL", &base)
        // An empty folder and no overrides: the binary carries its templates and surveys.
        .env_remove("SURVEYS_DIR")
        .env_remove("TEMPLATES_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut printed = Vec::new();
    while !printed.iter().any(|l: &String| l.contains("analytiker@example.se")) {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the demo stopped printing: {printed:?}");
        printed.push(line);
    }
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let link_after = |marker: &str| {
        let line = printed.iter().find(|l| l.contains(marker)).unwrap_or_else(|| panic!("{marker} in {printed:?}"));
        line.split_whitespace().find(|w| w.starts_with(&base)).unwrap().to_string()
    };
    let respondent_link = link_after("forskolan.demo@example.se");
    let password_link = link_after("samordnare@example.se (samordnare)");
    assert!(std::path::Path::new(&dir.path().join("data/lagesbild.db")).exists(), "the embedded default");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut r = Respondent::new(&respondent_link);
        let page = r.open().await;
        assert_eq!(page.status, 200);
        assert_eq!(page.questions()[0], "observerat");
        let mut browser = crate::helpers::Browser::new(&base);
        let path = password_link.strip_prefix(&base).unwrap();
        browser.get(path).await;
        let page = browser.post(path, &[("password", PASSWORD), ("again", PASSWORD)]).await;
        assert!(page.contains("Lösenordet är sparat"));
        let page = browser.login("samordnare@example.se", PASSWORD).await;
        assert!(page.contains("Lägesbild – provomgång"), "{}", page.body);
        let page = browser.get("/admin/omgangar/demo").await;
        assert!(page.contains("<span class=\"big\">3</span> mottagare"), "{}", page.body);
    });
    server.kill().unwrap();
    server.wait().unwrap();
}
