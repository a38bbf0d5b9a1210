//! The accessibility statement and the printable questionnaire.

use crate::helpers::{Browser, TestApp};
use crate::on_both_engines;
use lagesbild::account::Role;

on_both_engines!(
    the_accessibility_statement_is_linked_from_every_page_and_filled_in_by_a_coordinator,
    the_whole_questionnaire_is_one_printable_page_with_its_conditions_in_words,
    each_chart_on_the_results_page_has_its_finding_as_alt_text_and_its_figures_in_a_table,
);

async fn each_chart_on_the_results_page_has_its_finding_as_alt_text_and_its_figures_in_a_table(app: TestApp) {
    let round = app.open_round("r").await;
    let rows: Vec<(String, &str, &str)> = (0..6).map(|i| (format!("enhet{i}@example.se"), "intern", "skola")).collect();
    let rows: Vec<(&str, &str, &str)> = rows.iter().map(|(e, g, c)| (e.as_str(), *g, *c)).collect();
    for mut r in app.recipients(&round, &rows).await {
        r.answer_nothing_seen().await;
    }
    let mut tx = app.store.begin().await.unwrap();
    tx.set_closes_on(round.id, crate::helpers::days_from_today(-1)).await.unwrap();
    tx.commit().await.unwrap();
    let mut analyst = app.signed_in("analytiker@example.se", Role::Analyst).await;
    let page = analyst.get("/admin/omgangar/r/analys").await;
    assert!(
        page.contains("alt=\"Vet vart man ska vända sig vid extremistiska budskap: störst är Ja bland Alla, 100 %. Alla värden finns i tabellen under diagrammet.\""),
        "{}",
        page.body
    );
    assert!(page.contains("<table class=\"data figures-table\">"));
    assert!(page.contains("<th scope=\"row\">Alla</th><td class=\"num\">100 %</td><td class=\"num\">0 %</td><td class=\"num\">0 %</td>"), "{}", page.body);
    // Drawn for the screen: 720 px wide, so that its text stays readable on a phone.
    let svg = analyst.download("/admin/omgangar/r/diagram/kunskap_om_rutiner.skarm.svg").await.text().await.unwrap();
    assert!(svg.starts_with("<svg width=\"720\""), "{}", &svg[..80]);
}

async fn the_accessibility_statement_is_linked_from_every_page_and_filled_in_by_a_coordinator(app: TestApp) {
    let round = app.open_round("r").await;
    let mut respondent = app.respondent(&round, "enhet@example.se", "intern").await;
    let form = respondent.open().await;
    assert!(form.contains("<a href=\"/tillganglighet\">Tillgänglighetsredogörelse</a>"), "{}", form.body);
    // Before the district has filled it in, it still says what the service is and how to report.
    let page = Browser::new(&app.base).get("/tillganglighet").await;
    assert_eq!(page.status, 200);
    assert!(page.contains("har inte fyllt i sin del av redogörelsen ännu"), "{}", page.body);
    assert!(!page.contains("förenlig med lagen"), "no claim of compliance before anyone reviewed it");
    assert!(page.contains("https://www.digg.se/tdosanmalan"));
    assert!(page.contains("kontakta den som skickade enkäten"));

    let mut coordinator = app.signed_in("samordnare@example.se", Role::Coordinator).await;
    let admin = coordinator.get("/admin/tillganglighet").await;
    assert!(
        admin.contains("<a href=\"/tillganglighet\">Tillgänglighetsredogörelse</a>"),
        "the admin pages link it too"
    );
    // A wrong address and date are named at their fields; nothing is saved.
    let page = coordinator
        .post(
            "/admin/tillganglighet",
            &[
                ("organisation", "Farsta stadsdelsförvaltning"),
                ("contact", "inte-en-adress"),
                ("reviewed_on", "1 mars"),
                ("shortcomings", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.contains("”inte-en-adress” är ingen e-postadress") && page.contains("”1 mars” är inget datum"),
        "{}",
        page.body
    );
    assert!(app.store.accessibility_statement().await.unwrap().is_none());
    coordinator.get("/admin/tillganglighet").await;
    coordinator
        .post(
            "/admin/tillganglighet",
            &[
                ("organisation", "Farsta stadsdelsförvaltning"),
                ("contact", "tillganglighet.farsta@stad.example"),
                ("reviewed_on", "2027-02-15"),
                ("shortcomings", "Diagrammen i den tryckta handlingsplanen saknar textbeskrivning.\r\n"),
            ],
        )
        .await;
    let page = Browser::new(&app.base).get("/tillganglighet").await;
    assert!(page.contains("Farsta stadsdelsförvaltning står bakom den här webbtjänsten"), "{}", page.body);
    assert!(page.contains("mailto:tillganglighet.farsta@stad.example"));
    assert!(
        page.contains("delvis förenlig")
            && page.contains("Diagrammen i den tryckta handlingsplanen saknar textbeskrivning.")
    );
    assert!(page.contains("granskades senast den 15 februari 2027"), "{}", page.body);
    let log: Vec<String> = app.store.audit_log(10).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(log.contains(&"ändrade tillgänglighetsredogörelsen".to_string()));
}

async fn the_whole_questionnaire_is_one_printable_page_with_its_conditions_in_words(app: TestApp) {
    let round = app.open_round("r").await;
    let mut respondent = app.respondent(&round, "enhet@example.se", "extern").await;
    let first = respondent.open().await;
    assert!(first.contains("<a href=\"/enkat/r/utskrift\">Läs hela enkäten på en sida</a>"), "{}", first.body);
    let page = Browser::new(&app.base).get("/enkat/r/utskrift").await;
    assert_eq!(page.status, 200);
    // Every question, numbered, whoever reads it; the conditions in words.
    let survey = lagesbild::analysis::survey_of(&round).unwrap();
    let count = survey.questions().count();
    for q in survey.questions() {
        assert!(page.contains(&q.text), "missing: {}", q.text);
    }
    assert!(page.contains(&format!("<li value=\"{count}\"")), "numbered to {count}");
    assert!(page.contains("Besvaras om du svarade ”Ja” på fråga 1."), "{}", page.body);
    assert!(page.contains("Besvaras om du svarar för ”"), "questions for one group say so");
    let css = Browser::new(&app.base).get("/static/lagesbild.css").await;
    assert!(css.contains("@media print") && css.contains("size: A4"), "styled for A4");
    assert!(!page.contains("<nav"), "no navigation");
    let missing = Browser::new(&app.base).get("/enkat/finns-inte/utskrift").await;
    assert_eq!(missing.status, 404);
}
