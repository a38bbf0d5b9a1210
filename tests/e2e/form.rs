//! A respondent answering the shipped questionnaire through their personal link.

use crate::helpers::{TestApp, days_from_today};
use crate::on_both_engines;
use lagesbild::survey::Answer;

on_both_engines!(
    an_internal_unit_that_saw_extremism_answers_all_three_parts,
    an_external_actor_who_saw_nothing_skips_what_does_not_apply,
    errors_are_shown_at_the_top_and_at_each_field_and_answers_are_kept,
    a_respondent_can_leave_and_resume_where_they_left_off,
    going_back_keeps_the_answers_and_changed_answers_drop_what_no_longer_applies,
    a_link_answers_once_even_from_two_tabs,
    a_page_from_a_stale_tab_is_shown_the_current_answers_and_overwrites_nothing,
    pages_saved_from_many_tabs_at_once_keep_exactly_the_one_that_was_acknowledged,
    a_round_not_yet_open_or_closed_says_so_with_its_dates,
    unknown_and_expired_links_get_the_same_page,
);

async fn an_internal_unit_that_saw_extremism_answers_all_three_parts(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "forskolan@example.se", "intern").await;

    let p = r.open().await;
    assert_eq!(p.status, 200);
    assert!(p.contains("Del 1 av 3"));
    assert_eq!(p.questions(), ["observerat"]);

    // "ja" reveals the grid, the frequency and the description on the next page.
    let p = r.next(&[("observerat", "ja")]).await;
    assert_eq!(p.status, 200);
    assert_eq!(p.questions(), ["uttryck", "frekvens", "forandring", "valrorelse", "beskrivning"]);
    let p = r
        .next(&[
            ("uttryck.klotter", "vit_makt"),
            ("uttryck.klotter", "autonoma"),
            ("uttryck.flygblad", "vit_makt"),
            ("frekvens", "manatligen"),
            ("forandring", "okat"),
            ("valrorelse", "ja"),
            ("beskrivning", "Klistermärken vid tunnelbanan i maj."),
        ])
        .await;
    assert!(p.contains("Del 2 av 3"));
    assert_eq!(p.questions(), ["anhoriga"]);
    let p = r.next(&[("anhoriga", "ja")]).await;
    // Internal units are also asked for their concern reports and IA reports.
    assert_eq!(p.questions(), ["anhoriga_antal", "anhoriga_miljo", "avhoppare", "orosanmalningar", "ia_rapporter"]);
    let p = r
        .next(&[
            ("anhoriga_antal", "3"),
            ("anhoriga_miljo", "islamistisk"),
            ("anhoriga_miljo", "vit_makt"),
            ("avhoppare", "nej"),
            ("orosanmalningar", "2"),
            ("ia_rapporter", "1"),
        ])
        .await;
    assert!(p.contains("Del 3 av 3"));
    assert_eq!(p.questions(), ["vet_vart_vanda", "webbutbildning", "otillaten_paverkan", "stodbehov", "ovrigt"]);
    assert!(p.contains("Skicka in svaren"));
    let p = r
        .next(&[
            ("vet_vart_vanda", "delvis"),
            ("webbutbildning", "planerad"),
            ("stodbehov", "rutiner"),
            ("stodbehov", "utbildning"),
            ("ovrigt", "Bra enkät"),
        ])
        .await;
    assert_eq!(p.status, 200);
    assert!(p.contains("Tack för ditt svar!"), "{}", p.body);

    let stored = app.store.responses(round.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    let a = &stored[0].answers;
    assert_eq!(stored[0].group, "intern");
    assert_eq!(a["observerat"], Answer::One("ja".into()));
    let Answer::Grid(grid) = &a["uttryck"] else { panic!("{a:?}") };
    assert_eq!(grid["klotter"], ["autonoma", "vit_makt"]);
    assert_eq!(grid["flygblad"], ["vit_makt"]);
    assert_eq!(a["anhoriga_antal"], Answer::Number(3));
    assert_eq!(a["anhoriga_miljo"], Answer::Many(vec!["vit_makt".into(), "islamistisk".into()]));
    assert_eq!(a["orosanmalningar"], Answer::Number(2));
    assert_eq!(a["webbutbildning"], Answer::One("planerad".into()));
    assert_eq!(a["stodbehov"], Answer::Many(vec!["utbildning".into(), "rutiner".into()]));
    assert_eq!(a.len(), 17 - 1, "every question but otillaten_paverkan was answered: {a:?}");

    // Opening the link again says it has been answered.
    let p = r.open().await;
    assert!(p.contains("Enkäten är redan besvarad"));
    assert!(p.questions().is_empty());
}

async fn an_external_actor_who_saw_nothing_skips_what_does_not_apply(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "bostad@example.se", "extern").await;
    r.open().await;
    let p = r.next(&[("observerat", "nej")]).await;
    assert_eq!(p.questions(), ["forandring", "valrorelse"]);
    r.next(&[]).await;
    let p = r.next(&[("anhoriga", "nej")]).await;
    // No relatives' questions, and no internal-only questions for an external actor.
    assert_eq!(p.questions(), ["avhoppare"]);
    let p = r.next(&[("avhoppare", "nej")]).await;
    assert_eq!(p.questions(), ["vet_vart_vanda", "otillaten_paverkan", "stodbehov", "ovrigt"]);
    let p = r.next(&[("vet_vart_vanda", "ja")]).await;
    assert!(p.contains("Tack för ditt svar!"));
    let stored = app.store.responses(round.id).await.unwrap();
    assert_eq!(stored[0].answers.len(), 4);
    assert_eq!(stored[0].group, "extern");
}

async fn errors_are_shown_at_the_top_and_at_each_field_and_answers_are_kept(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "fritid@example.se", "intern").await;
    r.open().await;
    let p = r.next(&[]).await;
    assert_eq!(p.status, 422);
    // The summary takes the focus, names the question, and leads to its first input.
    assert_eq!(
        p.error_summary(),
        [
            "q-observerat-ja\">Har du eller din verksamhet under de senaste 12 månaderna sett uttryck för våldsbejakande extremism i stadsdelsområdet – Välj ett av svarsalternativen."
        ]
    );
    assert!(p.contains("class=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus"));
    assert!(p.contains("id=\"q-observerat-ja\""), "the link's target is an input");
    assert!(p.contains("<span class=\"visually-hidden\">Fel:</span> Välj ett av svarsalternativen."));
    r.next(&[("observerat", "vet_ej")]).await;
    r.next(&[]).await;
    r.next(&[("anhoriga", "ja")]).await;
    let p = r.next(&[("anhoriga_antal", "femtio"), ("avhoppare", "ja"), ("orosanmalningar", "9999")]).await;
    assert_eq!(p.status, 422);
    let errors = p.error_summary();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("q-anhoriga_antal-input\">Ungefär hur många sådana kontakter"), "{errors:?}");
    assert!(errors[0].contains(" – Ange ett heltal med siffror"), "{errors:?}");
    assert!(
        errors[1].starts_with("q-anhoriga_miljo-")
            && errors[1].ends_with("Vilken eller vilka miljöer gällde oron – Välj minst ett alternativ."),
        "{errors:?}"
    );
    assert!(errors[2].starts_with("q-orosanmalningar-input\">Hur många orosanmälningar"), "{errors:?}");
    assert!(errors[2].ends_with(" – Ange ett heltal från 0 till 500."), "{errors:?}");
    // What was typed is shown again, right or wrong.
    assert!(p.contains("value=\"femtio\""));
    assert!(p.contains("value=\"9999\""));
    assert!(p.checked("q.avhoppare", "ja"));
    // A text over the limit is refused but kept, with its length named.
    let p = r.next(&[("anhoriga_antal", "50"), ("anhoriga_miljo", "okand"), ("avhoppare", "ja")]).await;
    assert!(p.contains("Del 3 av 3"));
    let long = "x".repeat(2001);
    let p = r.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja"), ("ovrigt", &long)]).await;
    assert_eq!(p.status, 422);
    assert_eq!(
        p.error_summary(),
        [
            "q-ovrigt-input\">Övriga synpunkter eller iakttagelser – Svaret får vara högst 2000 tecken långt. Nu är det 2001 tecken."
        ]
    );
    assert!(p.contains(&long));
    // An option that does not exist is refused by name, not stored.
    let p = r.next(&[("vet_vart_vanda", "kanske"), ("webbutbildning", "ja")]).await;
    assert_eq!(p.status, 422);
    assert!(p.error_summary()[0].contains("alternativ som inte finns"));
    assert!(app.store.responses(round.id).await.unwrap().is_empty());
}

async fn a_respondent_can_leave_and_resume_where_they_left_off(app: TestApp) {
    let round = app.open_round("r").await;
    let r = app.respondent(&round, "kyrkan@example.se", "extern").await;
    let mut first = crate::helpers::Respondent::new(&r.url);
    first.open().await;
    first.next(&[("observerat", "ja")]).await;
    let p = first.submit("save", &[("uttryck.hot", "okand"), ("frekvens", "enstaka")]).await;
    assert!(p.contains("Dina svar är sparade"));

    // Days later, on another device, with the same link.
    let mut later = crate::helpers::Respondent::new(&r.url);
    let p = later.open().await;
    assert_eq!(p.questions(), ["uttryck", "frekvens", "forandring", "valrorelse", "beskrivning"]);
    assert!(p.checked("q.uttryck.hot", "okand"));
    assert!(p.checked("q.frekvens", "enstaka"));

    // A second link minted later (a reminder) opens the same draft.
    let actor = lagesbild::coordinator::Actor::command_line();
    let links = lagesbild::coordinator::links(&app.store, &actor, &round, true).await.unwrap();
    let mut reminded = crate::helpers::Respondent::new(&app.settings.link(&links[0].token));
    let p = reminded.open().await;
    assert!(p.checked("q.uttryck.hot", "okand"));
}

async fn going_back_keeps_the_answers_and_changed_answers_drop_what_no_longer_applies(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "skola@example.se", "extern").await;
    r.open().await;
    r.next(&[("observerat", "ja")]).await;
    let p = r.submit("back", &[("uttryck.vald", "autonoma"), ("beskrivning", "Något")]).await;
    assert_eq!(p.questions(), ["observerat"]);
    assert!(p.checked("q.observerat", "ja"));
    // Changing to "nej" hides the grid; its ticks are not stored.
    let p = r.next(&[("observerat", "nej")]).await;
    assert_eq!(p.questions(), ["forandring", "valrorelse"]);
    r.next(&[]).await;
    r.next(&[("anhoriga", "nej")]).await;
    r.next(&[("avhoppare", "nej")]).await;
    let p = r.next(&[("vet_vart_vanda", "nej")]).await;
    assert!(p.contains("Tack för ditt svar!"));
    let stored = app.store.responses(round.id).await.unwrap();
    assert!(!stored[0].answers.contains_key("uttryck"));
    assert!(!stored[0].answers.contains_key("beskrivning"));
}

async fn a_link_answers_once_even_from_two_tabs(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "tabbar@example.se", "fackforvaltning").await;
    r.open().await;
    r.next(&[("observerat", "nej")]).await;
    r.next(&[]).await;
    r.next(&[("anhoriga", "nej")]).await;
    r.next(&[("avhoppare", "nej")]).await;
    // The last page is open in several tabs, and all are sent at once.
    let last = r.last.clone().unwrap();
    let mut tabs = Vec::new();
    for _ in 0..6 {
        let mut tab = crate::helpers::Respondent::new(&r.url);
        tab.last = Some(last.clone());
        tabs.push(tokio::spawn(async move { tab.next(&[("vet_vart_vanda", "ja")]).await }));
    }
    for t in tabs {
        let p = t.await.unwrap();
        assert!(p.contains("Tack för ditt svar!") || p.contains("Enkäten är redan besvarad"), "{}", p.body);
    }
    assert_eq!(app.store.responses(round.id).await.unwrap().len(), 1);
    let summary = app.store.rounds().await.unwrap();
    assert_eq!(summary[0].submitted, 1);
    // A stale page sent afterwards changes nothing.
    let p = r.next(&[("vet_vart_vanda", "nej")]).await;
    assert!(p.contains("Enkäten är redan besvarad"));
    assert_eq!(app.store.responses(round.id).await.unwrap().len(), 1);
}

async fn a_page_from_a_stale_tab_is_shown_the_current_answers_and_overwrites_nothing(app: TestApp) {
    let round = app.open_round("r").await;
    let r = app.respondent(&round, "tva-flikar@example.se", "intern").await;
    let (mut a, mut b) = (crate::helpers::Respondent::new(&r.url), crate::helpers::Respondent::new(&r.url));
    let first_a = a.open().await;
    b.open().await;
    // Tab A says "ja" and moves on to the grid.
    let p = a.next(&[("observerat", "ja")]).await;
    assert_eq!(p.questions()[0], "uttryck");
    // Tab A's first page is sent again (a double click; the browser shows the second answer):
    // nothing changed, so it goes on as usual.
    a.last = Some(first_a.clone());
    let p = a.next(&[("observerat", "ja")]).await;
    assert_eq!((p.status, p.questions()[0].as_str()), (200, "uttryck"), "{}", p.body);
    // Tab B, still showing the first page, says "nej": it is not saved over A's answer.
    let p = b.next(&[("observerat", "nej")]).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.contains("ändrades i ett annat fönster"), "{}", p.body);
    assert_eq!(p.questions()[0], "uttryck", "tab B is shown where the saved answers are");
    // Tab A ticks the grid and finishes: its answers are what is stored.
    a.next(&[("uttryck.klotter", "vit_makt"), ("frekvens", "enstaka")]).await;
    a.next(&[("anhoriga", "nej")]).await;
    a.next(&[("avhoppare", "nej")]).await;
    let p = a.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")]).await;
    assert!(p.contains("Tack för ditt svar!"), "{}", p.body);
    let stored = app.store.responses(round.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].answers["observerat"], lagesbild::survey::Answer::One("ja".into()));
    assert!(stored[0].answers.contains_key("uttryck"), "{:?}", stored[0].answers);
}

async fn pages_saved_from_many_tabs_at_once_keep_exactly_the_one_that_was_acknowledged(app: TestApp) {
    let round = app.open_round("r").await;
    let mut r = app.respondent(&round, "manga-flikar@example.se", "extern").await;
    r.open().await;
    r.next(&[("observerat", "ja")]).await;
    let last = r.last.clone().unwrap();
    let descriptions: Vec<String> = (0..8).map(|i| format!("Flik {i} skrev det här.")).collect();
    let mut tabs = Vec::new();
    for text in descriptions.clone() {
        let mut tab = crate::helpers::Respondent::new(&r.url);
        tab.last = Some(last.clone());
        tabs.push(tokio::spawn(async move { (text.clone(), tab.submit("save", &[("beskrivning", &text)]).await) }));
    }
    let mut acknowledged = Vec::new();
    for t in tabs {
        let (text, p) = t.await.unwrap();
        if p.contains("Dina svar är sparade") {
            acknowledged.push(text);
        } else {
            assert_eq!(p.status, 409, "{}", p.body);
            assert!(p.contains("ändrades i ett annat fönster"), "{}", p.body);
        }
    }
    assert_eq!(acknowledged.len(), 1, "exactly one of the pages sent at once is saved");
    let mut later = crate::helpers::Respondent::new(&r.url);
    let p = later.open().await;
    assert!(p.contains(&acknowledged[0]), "the saved page is the acknowledged one");
}

async fn a_round_not_yet_open_or_closed_says_so_with_its_dates(app: TestApp) {
    let future = app.round("framtid", days_from_today(3), days_from_today(20)).await;
    let past = app.round("forra", days_from_today(-20), days_from_today(-1)).await;
    let mut early = app.respondent(&future, "a@example.se", "intern").await;
    let p = early.open().await;
    assert!(p.contains("Enkäten har inte öppnat än"));
    assert!(p.contains(&lagesbild::round::swedish_date(days_from_today(3))));
    assert!(p.questions().is_empty());
    let mut late = app.respondent(&past, "a@example.se", "intern").await;
    let p = late.open().await;
    assert!(p.contains("Enkäten är stängd"));
    assert!(p.contains(&lagesbild::round::swedish_date(days_from_today(-1))));
    assert!(p.questions().is_empty());
}

async fn unknown_and_expired_links_get_the_same_page(app: TestApp) {
    let long_closed = app.round("gammal", days_from_today(-400), days_from_today(-31)).await;
    let mut expired = app.respondent(&long_closed, "a@example.se", "intern").await;
    let expired_page = expired.open().await;
    let mut unknown = crate::helpers::Respondent::new(&format!("{}/s/{}", app.base, lagesbild::token::mint().0));
    let unknown_page = unknown.open().await;
    let mut garbage = crate::helpers::Respondent::new(&format!("{}/s/inte-en-riktig-lank", app.base));
    let garbage_page = garbage.open().await;
    assert_eq!(expired_page.status, 404);
    assert!(expired_page.contains("Länken fungerar inte"));
    assert_eq!(expired_page.body, unknown_page.body);
    assert_eq!(unknown_page.body, garbage_page.body);
    assert_eq!(unknown_page.status, garbage_page.status);
}
