//! The recipient roster: a CSV file the coordinator exports from a spreadsheet.
//!
//! Every row is checked before anything is stored; a file with any bad row is refused
//! whole, with every bad row listed by its line number.

use crate::address::EmailAddress;
use crate::survey::Survey;
use std::collections::HashMap;
use std::fmt;

/// One checked roster row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    pub email: EmailAddress,
    pub name: String,
    pub organisation: String,
    pub group: String,
    pub category: String,
}

/// The line a CSV record starts on, from its byte position: the csv reader's own line
/// counter is one short for CRLF files, which is what Excel writes. (There a record's
/// position can be the `\n` of the line before it, so that one counts as before the record.)
pub fn line_numbers(text: &str) -> impl Fn(u64) -> u64 {
    let line_ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    move |byte: u64| line_ends.partition_point(|&n| (n as u64) <= byte) as u64 + 1
}

/// A problem with the file, located by line (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rad {}: {}", self.line, self.message)
    }
}

const COLUMNS: [&str; 5] = ["email", "name", "organisation", "group", "category"];

/// Parses a roster: UTF-8 with or without BOM, comma or semicolon separated, with a header
/// row naming the columns `email,name,organisation,group,category` in any order.
pub fn parse(bytes: &[u8], survey: &Survey) -> Result<Vec<RosterRow>, Vec<RowProblem>> {
    let problem = |line, message: String| vec![RowProblem { line, message }];
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        problem(line, "filen är inte UTF-8. Spara den som \"CSV UTF-8\" i Excel och försök igen.".into())
    })?;
    let header_line = text.lines().next().unwrap_or("");
    if header_line.trim().is_empty() {
        return Err(problem(1, format!("filen är tom. Första raden ska vara kolumnnamnen: {}.", COLUMNS.join(","))));
    }
    let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() { b';' } else { b',' };
    if let Some(line) = unclosed_quote(text, delimiter) {
        return Err(problem(
            line,
            format!("citattecknet på rad {line} avslutas aldrig; resten av filen kan inte läsas"),
        ));
    }
    let line_at = line_numbers(text);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());

    let headers = reader.headers().map_err(|e| problem(1, format!("kolumnraden kan inte läsas: {e}")))?.clone();
    // Swedish column names are understood too: a spreadsheet made by hand often has them.
    let column = |h: &str| -> String {
        let h = h.trim().to_lowercase();
        match h.as_str() {
            "e-post" | "epost" | "e-postadress" => "email".into(),
            "namn" => "name".into(),
            "verksamhet" => "organisation".into(),
            "grupp" => "group".into(),
            "kategori" => "category".into(),
            _ => h,
        }
    };
    let position: HashMap<String, usize> = headers.iter().enumerate().map(|(i, h)| (column(h), i)).collect();
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| *c != "name" && !position.contains_key(*c)).collect();
    if !missing.is_empty() {
        return Err(problem(
            1,
            format!(
                "{} {} saknas. Första raden ska vara: {}.",
                if missing.len() == 1 { "kolumnen" } else { "kolumnerna" },
                missing.join(", "),
                COLUMNS.join(",")
            ),
        ));
    }

    let groups: Vec<&str> = survey.groups.iter().map(|g| g.code.as_str()).collect();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut first_seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                problems.push(RowProblem { line, message: format!("raden kan inte läsas som CSV: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // Spreadsheets often end with empty rows.
        }
        let raw = |name: &str| position.get(name).and_then(|&i| record.get(i)).unwrap_or("");
        // A line break in a cell (Excel's Alt+Enter) becomes a space: names and organisations
        // go into email headers, which are one line each.
        let field = |name: &str| raw(name).split_whitespace().collect::<Vec<_>>().join(" ");
        let mut reasons = Vec::new();
        for name in COLUMNS {
            if let Some(c) = raw(name).chars().find(|c| c.is_control() && !c.is_whitespace()) {
                reasons.push(format!("{name} innehåller ett otillåtet tecken (U+{:04X})", c as u32));
            }
        }
        let email = EmailAddress::parse(&field("email"));
        match &email {
            Err(problem) => reasons.push(problem.to_string()),
            Ok(email) => {
                if let Some(first) = first_seen.get(email.as_str()) {
                    reasons.push(format!("{email} finns redan på rad {first}"));
                }
            }
        }
        let organisation = field("organisation");
        if organisation.is_empty() {
            reasons.push("organisation saknas".into());
        }
        let group = field("group").to_lowercase();
        if group.is_empty() {
            reasons.push(format!("group saknas (ska vara en av {})", groups.join(", ")));
        } else if !groups.contains(&group.as_str()) {
            reasons.push(format!("group \"{group}\" finns inte (ska vara en av {})", groups.join(", ")));
        }
        let category = field("category").to_lowercase();
        if category.is_empty() {
            reasons.push("category saknas".into());
        } else if !category.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            reasons.push(format!(
                "category \"{category}\" får bara innehålla bokstäver, siffror, - och _ (till exempel forskola)"
            ));
        }
        match email {
            Ok(email) if reasons.is_empty() => {
                first_seen.insert(email.as_str().to_string(), line);
                rows.push(RosterRow { email, name: field("name"), organisation, group, category });
                continue;
            }
            Ok(email) => {
                first_seen.entry(email.as_str().to_string()).or_insert(line);
            }
            Err(_) => {}
        }
        problems.push(RowProblem { line, message: reasons.join("; ") });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if rows.is_empty() {
        return Err(problem(2, "filen har kolumnrad men inga mottagare.".into()));
    }
    Ok(rows)
}

/// The line of a quote that opens a field and is never closed, if there is one: the csv
/// reader would take the rest of the file as that field's text.
fn unclosed_quote(text: &str, delimiter: u8) -> Option<u64> {
    let bytes = text.as_bytes();
    let (mut line, mut opened_on, mut field_start) = (1, None, true);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match opened_on {
            // `""` inside a quoted field is one quote character.
            Some(_) if b == b'"' && bytes.get(i + 1) == Some(&b'"') => i += 1,
            Some(_) if b == b'"' => {
                opened_on = None;
                field_start = false;
            }
            Some(_) => {}
            None if b == b'"' && field_start => opened_on = Some(line),
            None => field_start = b == delimiter || b == b'\n' || b == b'\r',
        }
        if b == b'\n' {
            line += 1;
        }
        i += 1;
    }
    opened_on
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey() -> Survey {
        crate::survey::parse(include_str!("../surveys/lagesbild.toml")).unwrap()
    }

    #[test]
    fn reads_comma_and_semicolon_files_with_or_without_bom() {
        let comma = "email,name,organisation,group,category\nA@Example.se,Anna,Skolan,intern,skola\n";
        let semi = "\u{feff}email;name;organisation;group;category\r\na@example.se;Anna;Skolan;intern;skola\r\n\r\n";
        let a = parse(comma.as_bytes(), &survey()).unwrap();
        let b = parse(semi.as_bytes(), &survey()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].email.as_str(), "a@example.se");
    }

    #[test]
    fn swedish_column_names_are_understood() {
        let csv = "E-post;Namn;Verksamhet;Grupp;Kategori\na@example.se;Anna;Skolan;intern;skola\n";
        let rows = parse(csv.as_bytes(), &survey()).unwrap();
        assert_eq!((rows[0].organisation.as_str(), rows[0].group.as_str()), ("Skolan", "intern"));
    }

    #[test]
    fn the_sample_roster_is_accepted() {
        let rows = parse(include_bytes!("../tests/data/recipients.csv"), &survey()).unwrap();
        assert!(rows.len() > 20);
        assert!(rows.iter().any(|r| r.group == "fackforvaltning"));
    }

    #[test]
    fn lists_every_bad_row_with_its_line_and_reason() {
        let csv = "email,name,organisation,group,category\n\
                   ok@example.se,,Skolan,intern,skola\n\
                   inte-en-adress,,Skolan,intern,skola\n\
                   b@example.se,,,privat,skola\n\
                   OK@example.se,,Skolan,intern,skola\n\
                   \"c@example.se\",\"Berg, Anna\",\"Förening \"\"Ek\"\"\",extern,forening\n";
        let problems = parse(csv.as_bytes(), &survey()).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "rad 3: \"inte-en-adress\" är inte en giltig e-postadress",
                "rad 4: organisation saknas; group \"privat\" finns inte (ska vara en av intern, extern, fackforvaltning)",
                "rad 5: ok@example.se finns redan på rad 2",
            ]
        );
    }

    #[test]
    fn lines_are_counted_right_in_files_with_crlf_endings() {
        // What Excel writes: CRLF line ends and a first data row on line 2.
        let csv = "email,name,organisation,group,category\r\n\
                   ok@example.se,,Skolan,intern,skola\r\n\
                   inte-en-adress,,Skolan,intern,skola\r\n\
                   ok@example.se,,Skolan,intern,skola\r\n";
        let text: Vec<String> = parse(csv.as_bytes(), &survey()).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["rad 3: \"inte-en-adress\" är inte en giltig e-postadress", "rad 4: ok@example.se finns redan på rad 2"]
        );
    }

    #[test]
    fn a_line_break_inside_a_cell_is_flattened_and_later_lines_keep_their_numbers() {
        // Excel's Alt+Enter: two quoted cells that span a line each (lines 2 to 4).
        let csv = "email,name,organisation,group,category\r\n\
                   a@example.se,\"Anna\r\nBerg\",\"Skolan\nVäst\",intern,skola\r\n\
                   inte-en-adress,,Skolan,intern,skola\r\n";
        let problems = parse(csv.as_bytes(), &survey()).unwrap_err();
        assert_eq!(problems[0].to_string(), "rad 5: \"inte-en-adress\" är inte en giltig e-postadress");
        let rows = parse(&csv.as_bytes()[..csv.rfind("inte-en").unwrap()], &survey()).unwrap();
        assert_eq!((rows[0].name.as_str(), rows[0].organisation.as_str()), ("Anna Berg", "Skolan Väst"));
    }

    #[test]
    fn an_unclosed_quote_and_a_control_character_are_named_with_their_line() {
        let csv = "email,name,organisation,group,category\n\
                   a@example.se,Anna,Skolan,intern,skola\n\
                   b@example.se,\"Bo,Skolan,intern,skola\n\
                   c@example.se,Cilla,Skolan,intern,skola\n";
        let problems = parse(csv.as_bytes(), &survey()).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].to_string(),
            "rad 3: citattecknet på rad 3 avslutas aldrig; resten av filen kan inte läsas"
        );
        let csv = "email,name,organisation,group,category\na@example.se,An\u{0}na,Skolan,intern,skola\n";
        let problems = parse(csv.as_bytes(), &survey()).unwrap_err();
        assert_eq!(problems[0].to_string(), "rad 2: name innehåller ett otillåtet tecken (U+0000)");
    }

    #[test]
    fn a_missing_column_or_a_non_utf8_file_is_named() {
        let p = parse(b"email,organisation,group\nx@example.se,A,intern\n", &survey()).unwrap_err();
        assert_eq!(
            p[0].to_string(),
            "rad 1: kolumnen category saknas. Första raden ska vara: email,name,organisation,group,category."
        );
        let p = parse(b"email;organisation\nx@example.se;A\n", &survey()).unwrap_err();
        assert!(p[0].to_string().starts_with("rad 1: kolumnerna group, category saknas."), "{}", p[0]);
        let latin1 = b"email,name,organisation,group,category\na@example.se,\xc5sa,Skolan,intern,skola\n";
        assert!(parse(latin1, &survey()).unwrap_err()[0].to_string().starts_with("rad 2: filen är inte UTF-8"));
    }
}
