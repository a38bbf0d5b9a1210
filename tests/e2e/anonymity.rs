//! What is stored about a submitted response: nothing that leads back to the recipient.

use crate::helpers::{Respondent, TestApp};
use crate::on_both_engines;
use sqlx::{Column, Row};

on_both_engines!(stored_responses_carry_no_recipient_identity);

async fn answer_minimal(r: &mut Respondent, text: &str) {
    r.open().await;
    r.next(&[("observerat", "nej")]).await;
    r.next(&[]).await;
    r.next(&[("anhoriga", "nej")]).await;
    r.next(&[("avhoppare", "nej")]).await;
    let p = r.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja"), ("ovrigt", text)]).await;
    assert!(p.contains("Tack för ditt svar!"), "{}", p.body);
}

async fn stored_responses_carry_no_recipient_identity(app: TestApp) {
    let round = app.open_round("r").await;
    let emails: Vec<String> = (0..8).map(|i| format!("enhet{i}@example.se")).collect();
    let rows: Vec<(&str, &str, &str)> = emails.iter().map(|e| (e.as_str(), "intern", "skola")).collect();
    let mut respondents = app.recipients(&round, &rows).await;
    for (i, r) in respondents.iter_mut().enumerate() {
        answer_minimal(r, &format!("svar nummer {i}")).await;
    }

    // A plain read of the table (as a dump or an administrator would make it) comes back in
    // the order of the random ids, not the order of answering. SQLite stores it so; on
    // PostgreSQL the server rewrites the table every second in tests (every few minutes by
    // default), which is waited for here.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.settings.database_url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let rows = loop {
        let rows = sqlx::query("SELECT * FROM responses WHERE answers IS NOT NULL").fetch_all(&pool).await.unwrap();
        let ids: Vec<String> = rows.iter().map(|r| r.try_get("id").unwrap()).collect();
        if ids.is_sorted() {
            break rows;
        }
        assert!(std::time::Instant::now() < deadline, "the responses stay in the order of answering: {ids:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(rows.len(), 8);
    let columns: Vec<String> = rows[0].columns().iter().map(|c| c.name().to_string()).collect();
    // No day and no time: a day beside group and category could be joined with the day a
    // recipient answered. Only group and category (and the round) are shared with recipients.
    assert_eq!(columns, ["id", "round_id", "grp", "category", "answers"]);
    // (`id` is a name only: a response's id is random text, checked below against the recipients'.)
    for table in ["recipients", "tokens", "drafts", "outbox", "audit_log"] {
        let sql = sqlx::AssertSqlSafe(format!("SELECT * FROM {table}"));
        let other: Vec<String> = match sqlx::query(sql).fetch_all(&pool).await.unwrap().first() {
            Some(row) => row.columns().iter().map(|c| c.name().to_string()).collect(),
            None => continue,
        };
        let common: Vec<&String> = columns.iter().filter(|c| other.contains(c)).collect();
        let allowed = ["round_id", "grp", "category", "id"];
        assert!(common.iter().all(|c| allowed.contains(&c.as_str())), "{table} shares {common:?} with responses");
    }

    let recipient_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM recipients ORDER BY id").fetch_all(&pool).await.unwrap();
    let mut completion_order = Vec::new();
    for row in &rows {
        let id: String = row.try_get("id").unwrap();
        let answers: String = row.try_get("answers").unwrap();
        let whole = format!("{id} {answers}");
        for (e, r) in emails.iter().zip(&respondents) {
            assert!(!whole.contains(e.as_str()), "an address in a response: {whole}");
            assert!(!whole.contains("Namn Namnsson") && !whole.contains("Organisation för"), "{whole}");
            assert!(!whole.contains(r.token()), "a token in a response");
        }
        // The id is random, not a counter that could be matched with the recipients.
        assert_eq!(id.len(), 43);
        assert!(!recipient_ids.iter().any(|rid| id == rid.to_string()));
        let n: usize = answers.split("svar nummer ").nth(1).unwrap()[..1].parse().unwrap();
        completion_order.push(n);
    }
    // The order the table is read in is that of the random ids: it says nothing of who
    // answered first (the loop above waited for exactly that order).
    assert_eq!(completion_order.len(), 8);
}

on_both_engines!(a_category_of_one_recipient_is_in_no_stored_row_and_no_export);

/// The metro operator is the only recipient of its category: a row carrying that category
/// would be its answers, readable by anyone who knows the district.
async fn a_category_of_one_recipient_is_in_no_stored_row_and_no_export(app: TestApp) {
    let round = app.open_round("r").await;
    let mut rows: Vec<(String, &str, &str)> = Vec::new();
    rows.extend((0..6).map(|i| (format!("skola{i}@example.se"), "intern", "skola")));
    rows.extend((0..6).map(|i| (format!("forening{i}@example.se"), "extern", "forening")));
    rows.push(("trafik@sl.example.se".into(), "extern", "tunnelbana"));
    rows.extend((0..5).map(|i| (format!("forvaltning{i}@example.se"), "fackforvaltning", "trafikkontoret")));
    let spec: Vec<(&str, &str, &str)> = rows.iter().map(|(e, g, c)| (e.as_str(), *g, *c)).collect();
    for (i, r) in app.recipients(&round, &spec).await.iter_mut().enumerate() {
        answer_minimal(r, &format!("svar nummer {i}")).await;
    }

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.settings.database_url).await.unwrap();
    let mut stored: Vec<(String, String)> =
        sqlx::query_as("SELECT grp, category FROM responses").fetch_all(&pool).await.unwrap();
    stored.sort();
    let count = |g: &str, c: &str| stored.iter().filter(|(sg, sc)| sg == g && sc == c).count();
    assert_eq!(stored.len(), 18);
    assert_eq!(count("extern", "tunnelbana"), 0, "{stored:?}");
    assert_eq!(count("extern", "övriga"), 1, "the metro operator's response is kept, as extern's övriga");
    assert_eq!((count("intern", "skola"), count("extern", "forening")), (6, 6));
    assert_eq!(count("fackforvaltning", "trafikkontoret"), 5);

    let dir = tempfile::tempdir().unwrap();
    for args in [
        ["export", "responses", "--round", "r", "--out", "svar.csv"],
        ["export", "tallies", "--round", "r", "--out", "tabeller.csv"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lagesbild"))
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", &app.settings.database_url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let responses = std::fs::read_to_string(dir.path().join("svar.csv")).unwrap();
    let tallies = std::fs::read_to_string(dir.path().join("tabeller.csv")).unwrap();
    assert!(!responses.contains("tunnelbana") && !tallies.contains("tunnelbana"));
    // The file folds as the tallies do: extern's one small category with forening's rows
    // would be "extern minus forening", so extern shows no categories at all.
    let mut cells: Vec<(String, String)> = csv::Reader::from_reader(responses.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect();
    cells.sort();
    cells.dedup();
    assert_eq!(
        cells,
        [
            ("extern".to_string(), "övriga".to_string()),
            ("fackforvaltning".to_string(), "trafikkontoret".to_string()),
            ("intern".to_string(), "skola".to_string()),
        ]
    );
    assert!(!tallies.contains("extern/forening"), "a category the export folds is published in the tallies");

    // The disclosure audit passes, from the command line and on the results page.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["disclosure", "check", "--round", "r"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.settings.database_url)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("kontrollerade: inga fynd") && said.contains("tvärsnitt"), "{said}");
    let mut analyst = app.signed_in("analytiker@stad.se", lagesbild::account::Role::Analyst).await;
    let page = analyst.get("/admin/omgangar/r/analys").await;
    assert!(page.contains("Röjandekontroll") && page.contains("Godkänd."), "{}", page.body);
}

on_both_engines!(a_draft_cannot_be_read_from_the_database_file);

/// Whoever copies the database (its file, its WAL, a backup) must not be able to read what a
/// recipient typed into a draft: drafts sit beside the recipient's id.
async fn a_draft_cannot_be_read_from_the_database_file(app: TestApp) {
    const TYPED: &str = "Utkast om Åsas förening på Storgatan";
    let round = app.open_round("r").await;
    let mut r = app.recipients(&round, &[("enhet@example.se", "intern", "skola")]).await.remove(0);
    r.open().await;
    r.next(&[("observerat", "nej")]).await;
    r.next(&[]).await;
    r.next(&[("anhoriga", "nej")]).await;
    r.next(&[("avhoppare", "nej")]).await;
    let saved = r.submit("save", &[("vet_vart_vanda", "ja"), ("webbutbildning", "ja"), ("ovrigt", TYPED)]).await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.settings.database_url).await.unwrap();
    let raw: String = sqlx::query_scalar("SELECT raw FROM drafts").fetch_one(&pool).await.unwrap();
    assert!(raw.starts_with("x1:") && !raw.contains("Storgatan") && !raw.contains("observerat"), "{raw}");
    let file_bytes = || -> Vec<u8> {
        let path = app.settings.database_url.strip_prefix("sqlite://").unwrap().to_string();
        [path.clone(), format!("{path}-wal")].iter().filter_map(|p| std::fs::read(p).ok()).flatten().collect()
    };
    let holds = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    let sqlite = app.settings.database_url.starts_with("sqlite:");
    if sqlite {
        let bytes = file_bytes();
        assert!(!holds(&bytes, "Storgatan") && !holds(&bytes, "\"observerat\":[\"nej\"]"), "a draft in the file");
    }

    // The link opens the saved draft again, and the answer goes in as typed last.
    let page = r.open().await;
    assert!(page.contains("Storgatan"), "the saved draft is read back: {}", page.body);
    let done = r.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja"), ("ovrigt", "slutligt svar")]).await;
    assert!(done.contains("Tack för ditt svar!"), "{}", done.body);
    let answers: String = sqlx::query_scalar("SELECT answers FROM responses").fetch_one(&pool).await.unwrap();
    assert!(answers.contains("slutligt svar") && !answers.contains("Storgatan"));
    if sqlite {
        let bytes = file_bytes();
        assert!(!holds(&bytes, "Storgatan"), "a deleted draft left readable in the file or its WAL");
        assert!(holds(&bytes, "slutligt svar"), "the search reads the stored text");
    }
}
