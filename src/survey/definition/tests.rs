use super::*;

const HEAD: &str = r#"
id = "prov"
title = "Prov"
groups = [{ code = "intern", label = "Intern" }, { code = "extern", label = "Extern" }]
"#;

fn problems(body: &str) -> Vec<String> {
    parse_new(&format!("{HEAD}{body}")).unwrap_err().iter().map(ToString::to_string).collect()
}

#[test]
fn the_shipped_questionnaire_is_valid_and_complete() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/surveys/lagesbild.toml")).unwrap();
    let s = parse(&src).unwrap_or_else(|p| panic!("{p:?}"));
    let ids: Vec<&str> = s.questions().map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "observerat",
            "uttryck",
            "frekvens",
            "forandring",
            "valrorelse",
            "beskrivning",
            "anhoriga",
            "anhoriga_antal",
            "anhoriga_miljo",
            "avhoppare",
            "orosanmalningar",
            "ia_rapporter",
            "vet_vart_vanda",
            "webbutbildning",
            "otillaten_paverkan",
            "stodbehov",
            "ovrigt"
        ]
    );
    let Kind::Grid { rows, columns } = &s.question("uttryck").unwrap().kind else { panic!() };
    assert_eq!(rows.len(), 10);
    assert_eq!(
        columns.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
        ["autonoma", "vit_makt", "islamistisk", "okand"]
    );
    assert!(matches!(s.question("anhoriga_antal").unwrap().kind, Kind::Number { min: 1, max: 500 }));
    assert!(matches!(s.question("ovrigt").unwrap().kind, Kind::Text { max_length: 2000 }));
    assert_eq!(s.groups.iter().map(|g| g.code.as_str()).collect::<Vec<_>>(), ["intern", "extern", "fackforvaltning"]);
    // Del 1 and Del 2 are each cut before the first question that depends on the page.
    assert_eq!(s.steps.len(), 5);
    let first: Vec<Vec<&str>> = (0..5).map(|i| s.step_questions(i).map(|q| q.id.as_str()).collect()).collect();
    assert_eq!(first[0], ["observerat"]);
    assert_eq!(first[2], ["anhoriga"]);
}

#[test]
fn reports_every_problem_with_line_and_column() {
    let p = problems(
        r#"
[[section]]
id = "del1"
title = "Del 1"

[[section.question]]
id = "a"
kind = "single"
text = "A?"
options = []

[[section.question]]
id = "a"
kind = "slider"
text = "B?"

[[section.question]]
id = "c"
kind = "number"
text = "C?"
min = 10
max = 1
"#,
    );
    assert_eq!(p.len(), 4, "{p:#?}");
    assert_eq!(p[0], "14:11: the options list is empty: give at least one `{ code = ..., label = ... }`");
    assert_eq!(p[1], "17:6: the question id `a` is used twice");
    assert!(p[2].starts_with("18:8: unknown question kind `slider`"), "{}", p[2]);
    assert_eq!(p[3], "25:7: the range is empty: min 10 is greater than max 1");
}

#[test]
fn conditions_must_look_back_at_known_questions_and_codes() {
    let p = problems(
        r#"
[[section]]
id = "del1"
title = "Del 1"

[[section.question]]
id = "a"
kind = "single"
text = "A?"
shown_when = "b = ja"
options = [{ code = "ja", label = "Ja" }, { code = "ja", label = "Ja igen" }]

[[section.question]]
id = "b"
kind = "single"
text = "B?"
shown_when = "a = kanske or zzz = 1 or group = okand"
options = [{ code = "ja", label = "Ja" }]
"#,
    );
    assert_eq!(p.len(), 5, "{p:#?}");
    assert!(
        p[0].starts_with("14:14: in the condition `b = ja`: the condition refers to `b`, which comes later"),
        "{}",
        p[0]
    );
    assert!(p[1].starts_with("15:52: the code `ja` appears twice"), "{}", p[1]);
    assert!(p[2].contains("`kanske` is not an option code of `a`"), "{}", p[2]);
    assert!(p[3].contains("`zzz`, which is not a question in this survey"), "{}", p[3]);
    assert!(p[4].contains("`okand` is not a roster group (groups: intern, extern)"), "{}", p[4]);
}

#[test]
fn toml_syntax_errors_and_unknown_fields_are_located() {
    let p = problems("[[section]]\nid = \"x\"\ntitle = \"X\"\nquestion = 3 =\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("8:"), "{}", p[0]);
    let p = problems("[[section]]\nid = \"x\"\ntitel = \"X\"\n");
    assert!(p[0].contains("titel"), "{}", p[0]);
}

#[test]
fn an_escape_before_non_ascii_text_in_a_condition_is_located_without_a_crash() {
    let body = "[[section]]\nid = \"s\"\ntitle = \"S\"\n[[section.question]]\nid = \"q\"\nkind = \"text\"\ntext = \"T\"\nmax_length = 100\nshown_when = \"\\tåå$\"\n";
    let found = problems(body);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("unexpected character `$`"), "{found:?}");
    assert!(found[0].starts_with(&format!("{}:", HEAD.matches('\n').count() + 9)), "{found:?}");
}

#[test]
fn a_file_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trasig.toml");
    std::fs::write(&path, b"id = \"x\"\ntitle = \"Enk\xe4t\"\n").unwrap();
    let problems = check_file(&path).unwrap_err();
    assert_eq!(problems, [format!("{}:2:13: the file is not UTF-8 text; save it as UTF-8", path.display())]);
}

#[test]
fn condition_syntax_errors_point_into_the_expression() {
    let p = problems(
        "[[section]]\nid = \"d\"\ntitle = \"D\"\n[[section.question]]\nid = \"a\"\nkind = \"text\"\ntext = \"A\"\nmax_length = 10\n\
         [[section.question]]\nid = \"b\"\nkind = \"text\"\ntext = \"B\"\nmax_length = 10\nshown_when = \"a ja\"\n",
    );
    assert_eq!(
        p,
        ["18:17: in the condition `a ja`: expected a comparison (=, !=, <, <=, >, >=, includes) after `a`, found `ja`"]
    );
}

/// A section with one single choice question, `sett`, with `extra` among its keys.
fn seen_question(extra: &str) -> String {
    format!(
        r#"
[[section]]
id = "s"
title = "S"

[[section.question]]
id = "sett"
kind = "single"
text = "Sett?"
{extra}
options = [{{ code = "ja", label = "Ja" }}, {{ code = "nej", label = "Nej" }}]
"#
    )
}

#[test]
fn sensitive_answers_name_codes_of_their_question() {
    let body = format!(
        "{}{}",
        seen_question(r#"sensitive = ["ja", "kanske"]"#),
        r#"
[[section.question]]
id = "antal"
kind = "number"
text = "Hur många?"
min = 0
max = 9
sensitive = ["ja"]
"#
    );
    let p = problems(&body);
    assert!(p.iter().any(|m| m.contains("`kanske` in `sensitive` is not a code of `sett` (codes: ja, nej)")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("not of a number question")), "{p:?}");
    let s = parse(include_str!("../../../surveys/lagesbild.toml")).unwrap();
    assert_eq!(s.question("observerat").unwrap().sensitive, ["ja"]);
    assert_eq!(s.question("uttryck").unwrap().sensitive.len(), 4);
}

#[test]
fn a_condition_on_the_category_is_refused_in_new_definitions_but_read_in_stored_ones() {
    let source = format!("{HEAD}{}", seen_question(r#"shown_when = "category = skola""#));
    let refused = parse_new(&source).unwrap_err();
    assert!(refused[0].message.contains("a condition cannot look at `category`"), "{refused:?}");
    assert!(parse(&source).is_ok(), "a round created before the rule keeps working");
}
