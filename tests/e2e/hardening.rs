//! What acceptance testing broke, kept broken-proof: texts checked wherever they are saved,
//! values too long for a session cookie, a line break in a redirect, HEAD and unknown methods,
//! a form that is not UTF-8 or carries a NUL byte. Each case checks what the user sees and
//! that nothing stored changed.

use crate::helpers::{Browser, PASSWORD, TestApp, days_from_today};
use crate::on_both_engines;
use lagesbild::account::Role;

on_both_engines!(
    texts_on_the_new_round_form_meet_the_check_of_the_emails_page,
    values_too_long_for_a_cookie_get_a_page_not_a_bare_500,
    a_line_break_or_nul_byte_at_the_login_is_refused_with_a_page,
    a_form_that_is_not_utf8_is_refused_and_changes_nothing,
    health_checkers_may_ask_with_head_and_other_methods_get_405,
);

async fn texts_on_the_new_round_form_meet_the_check_of_the_emails_page(app: TestApp) {
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    coordinator.get("/admin/omgangar/ny").await;
    let (opens, closes) = (days_from_today(-1).to_string(), days_from_today(9).to_string());
    let page = coordinator
        .post(
            "/admin/omgangar/ny",
            &[
                ("survey", "lagesbild"),
                ("year", "2027"),
                ("opens", &opens),
                ("closes", &closes),
                ("threshold", "5"),
                ("invitation_text", "Hej {{#if}}"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    let problems = page.error_summary();
    assert_eq!(problems.len(), 1, "{problems:?}");
    // The summary leads to the text with the mistake, and says which text it is.
    assert!(
        problems[0].starts_with("invitation_text\">Text, inbjudan: Platshållaren {{#if}} finns inte"),
        "{problems:?}"
    );
    assert!(
        page.contains("id=\"invitation_text\"")
            && page.contains("aria-invalid=\"true\" aria-describedby=\"invitation_text-error\"")
    );
    assert!(app.store.rounds().await.unwrap().is_empty());
}

async fn values_too_long_for_a_cookie_get_a_page_not_a_bare_500(app: TestApp) {
    let round = app.open_round("lagesbild-2027").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let long = format!("{}@example.se", "a".repeat(4_000));
    coordinator.get("/admin/omgangar/lagesbild-2027/mottagare").await;
    let page = coordinator
        .post("/admin/omgangar/lagesbild-2027/mottagare/ta-bort", &[("email", &long), ("confirm", "1")])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.contains("finns inte"), "{}", page.body);
    coordinator.get("/admin/omgangar/lagesbild-2027/svarstid").await;
    let page = coordinator.post("/admin/omgangar/lagesbild-2027/datum", &[("closes", &"9".repeat(4_000))]).await;
    assert!(page.status < 500, "{}: {}", page.status, page.body);
    assert!(page.contains("datum"), "{}", page.body);
    coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    let page =
        coordinator.post("/admin/omgangar/lagesbild-2027/utskick-texter", &[("reminders", &"7,".repeat(2_000))]).await;
    assert!(page.status < 500, "{}: {}", page.status, page.body);
    assert!(page.contains("påminnelseschemat går inte att läsa"), "{}", page.body);
    let after = app.store.round_by_id(round.id).await.unwrap();
    assert_eq!(after.closes_on, round.closes_on);
    assert_eq!(app.store.round_mail(round.id).await.unwrap().reminder_schedule, "");
}

async fn a_line_break_or_nul_byte_at_the_login_is_refused_with_a_page(app: TestApp) {
    app.account("samordnare@stad.se", Role::Coordinator, PASSWORD).await;
    let mut browser = Browser::new(&app.base);
    browser.get("/admin/logga-in").await;
    let page = browser
        .post(
            "/admin/logga-in",
            &[("email", "samordnare@stad.se"), ("password", PASSWORD), ("till", "/admin/omgangar\r\nSet-Cookie: x=1")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(browser.redirected_to.as_deref(), Some("/admin/omgangar"));
    let mut browser = Browser::new(&app.base);
    browser.get("/admin/logga-in").await;
    let page = browser.post("/admin/logga-in", &[("email", "samordnare\0@stad.se"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.contains("otillåtet tecken"), "{}", page.body);
}

async fn a_form_that_is_not_utf8_is_refused_and_changes_nothing(app: TestApp) {
    let round = app.open_round("lagesbild-2027").await;
    let mut respondent = app.respondent(&round, "a@example.se", "intern").await;
    let form = respondent.open().await;
    let csrf = form.hidden("csrf").unwrap();
    let page = respondent.post_raw(format!("csrf={csrf}&step=1&action=next&q.observerat=%FF%FE")).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.contains("UTF-8"), "{}", page.body);
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    let csrf = coordinator.csrf();
    let res = coordinator
        .client
        .post(format!("{}/admin/omgangar/lagesbild-2027/utskick-texter", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&contact=Fr%E5gor"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("UTF-8"));
    assert_eq!(app.store.round_mail(round.id).await.unwrap().contact, None);
}

async fn health_checkers_may_ask_with_head_and_other_methods_get_405(app: TestApp) {
    let round = app.open_round("lagesbild-2027").await;
    let respondent = app.respondent(&round, "a@example.se", "intern").await;
    let client = reqwest::Client::new();
    for path in ["/".to_string(), "/healthz".to_string(), format!("/s/{}", respondent.token())] {
        let res = client.head(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "HEAD {path}");
        let res = client.delete(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 405, "DELETE {path}");
        assert!(res.headers()["allow"].to_str().unwrap().contains("GET"), "DELETE {path}");
    }
    // A mail scanner's HEAD on the link does not count as the recipient opening it.
    assert_eq!(app.store.mail_status(round.id).await.unwrap()[0].opened, 0);
}
