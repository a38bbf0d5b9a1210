//! Headers, body limits, CSRF and the brake on guessed links.

use crate::helpers::{Engine, Respondent, TestApp};
use crate::on_both_engines;

on_both_engines!(
    every_page_sends_the_security_headers,
    a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing,
    an_oversized_or_garbled_post_gets_a_clear_answer_and_changes_nothing,
);

async fn every_page_sends_the_security_headers(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "a@example.se", "intern").await;
    let form = r.open().await;
    let client = reqwest::Client::new();
    let mut pages = vec![form.headers.clone()];
    for path in ["/", "/healthz", "/finns-inte", "/s/okand", "/static/lagesbild.css"] {
        pages.push(client.get(format!("{}{path}", app.base)).send().await.unwrap().headers().clone());
    }
    for h in &pages {
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    assert_eq!(form.headers["cache-control"], "no-store");
    let health = client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// The draft as the respondent would see it on reopening the link.
async fn reopened(url: &str) -> crate::helpers::Page {
    Respondent::new(url).open().await
}

async fn a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "a@example.se", "intern").await;
    r.open().await;
    r.next(&[("observerat", "ja")]).await;
    let before = reopened(&r.url).await;

    let without = r.post_raw("step=1&action=next&q.frekvens=veckovis".into()).await;
    assert_eq!(without.status, 403);
    assert!(without.contains("säkerhetskod"));
    let forged = r.post_raw("csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&step=1&q.frekvens=veckovis".into()).await;
    assert_eq!(forged.status, 403);
    // A token taken from another respondent's form does not work on this one.
    let mut other = app.respondent(&round, "b@example.se", "intern").await;
    let others = other.open().await.hidden("csrf").unwrap();
    let borrowed = r.post_raw(format!("csrf={others}&step=1&q.frekvens=veckovis")).await;
    assert_eq!(borrowed.status, 403);

    let after = reopened(&r.url).await;
    assert_eq!(before.body, after.body);
    assert!(!after.checked("q.frekvens", "veckovis"));
}

async fn an_oversized_or_garbled_post_gets_a_clear_answer_and_changes_nothing(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "a@example.se", "intern").await;
    let first = r.open().await;
    let csrf = first.hidden("csrf").unwrap();
    let huge = format!("csrf={csrf}&step=0&q.observerat=ja&q.x={}", "a".repeat(200 * 1024));
    let p = r.post_raw(huge).await;
    assert_eq!(p.status, 413);
    assert!(p.contains("Svaret är för stort"));
    let p = r.post_raw(format!("csrf={csrf}&step=99&q.observerat=ja")).await;
    assert_eq!(p.status, 400);
    assert!(p.contains("Sidan kunde inte läsas"));
    let p = r.post_raw(format!("csrf={csrf}&step=första&q.observerat=ja")).await;
    assert_eq!(p.status, 400);
    let after = reopened(&r.url).await;
    assert_eq!(after.questions(), ["observerat"]);
    assert!(!after.checked("q.observerat", "ja"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_links_from_one_address_are_slowed_down_but_valid_links_still_open() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.misses_per_minute = 3).await.unwrap();
    let round = app.open_round("r").await;
    let mut valid = app.respondent(&round, "a@example.se", "intern").await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..6 {
        let res = client.get(format!("{}/s/gissning{i}", app.base)).send().await.unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert_eq!(res.headers()["retry-after"], "60");
            assert!(res.text().await.unwrap().contains("För många försök"));
        }
    }
    assert_eq!(statuses, [404, 404, 404, 429, 429, 429]);
    // The same address, with a real link: many respondents share one municipal address.
    assert_eq!(valid.open().await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_a_client_cannot_escape_the_brake_by_writing_its_own_forwarded_address() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.misses_per_minute = 3;
        s.behind_proxy = true;
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..6 {
        // A new made-up first entry each time; the proxy appends the client's real address.
        let forwarded = format!("10.9.8.{i}, 198.51.100.7");
        let res = client
            .get(format!("{}/s/gissning{i}", app.base))
            .header("x-forwarded-for", forwarded)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 429, 429, 429]);
    // Another client behind the same proxy is not braked.
    let res =
        client.get(format!("{}/s/gissning", app.base)).header("x-forwarded-for", "198.51.100.8").send().await.unwrap();
    assert_eq!(res.status(), 404);
}

/// Monitoring reads `/metrics` on an address of its own; the public address has none, and
/// no label names a token, an address or an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_apart_and_name_no_person() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.metrics_bind = Some("127.0.0.1:0".into())).await.unwrap();
    let round = app.open_round("r").await;
    let rows = [("enhet@example.se", "intern", "skola"), ("tyst@example.se", "intern", "skola")];
    let mut r = app.recipients(&round, &rows).await.remove(0);
    r.answer_nothing_seen().await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    let public = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(public.status(), 404, "not on the public address");
    let res = reqwest::get(format!("{}/metrics", app.metrics.as_ref().unwrap())).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = res.text().await.unwrap();
    // The respondent's pages, counted by route pattern and timed.
    let answered = text
        .lines()
        .find(|l| {
            l.starts_with("lagesbild_http_requests_total{")
                && l.contains("route=\"/s/{token}\"")
                && l.contains("method=\"POST\"")
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(answered.ends_with(" 5"), "five pages posted: {answered}");
    assert!(text.contains("lagesbild_respondent_page_seconds_count 6"), "{text}");
    assert!(text.contains("lagesbild_responses_stored 1"), "{text}");
    assert!(text.contains("lagesbild_outbox_emails{state=\""), "the invitation, by its state: {text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    assert!(!text.contains(r.token()) && !text.contains("@example.se") && !text.contains("skola"), "{text}");
}
