//! Reading earlier years' figures from a tallies CSV (either dialect), every row checked.

use crate::roster::RowProblem;
use crate::tally::Figure;

/// Parses a tallies CSV (`question,row,column,group,code,count,share,base,year`, comma or
/// semicolon, dot or comma decimals, with or without BOM). Any bad row refuses the file.
pub fn parse_tallies_csv(bytes: &[u8]) -> Result<Vec<Figure>, Vec<RowProblem>> {
    let problem = |line, message: String| vec![RowProblem { line, message }];
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| problem(1, "filen är inte UTF-8.".into()))?;
    let first = text.lines().next().unwrap_or("");
    let semicolon = first.contains(';');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(if semicolon { b';' } else { b',' })
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| problem(1, format!("kolumnraden kan inte läsas: {e}")))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let at = |name: &str| headers.iter().position(|h| h == name);
    let needed = crate::export::TALLIES_HEADER;
    let missing: Vec<&str> = needed.iter().copied().filter(|n| at(n).is_none()).collect();
    if !missing.is_empty() {
        return Err(problem(
            1,
            format!("kolumnen {} saknas. Första raden ska vara: {}.", missing.join(", "), needed.join(",")),
        ));
    }
    let number = |s: &str| s.trim().replace(',', ".").parse::<f64>();
    let line_at = crate::roster::line_numbers(text);
    let mut figures = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems
                    .push(RowProblem { line: e.position().map_or(0, |p| line_at(p.byte())), message: format!("{e}") });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        let field = |name: &str| at(name).and_then(|i| record.get(i)).unwrap_or("").trim().to_string();
        let mut reasons = Vec::new();
        if field("question").is_empty() {
            reasons.push("question saknas".to_string());
        }
        if field("group").is_empty() {
            reasons.push("group saknas".to_string());
        }
        let count =
            number(&field("count")).map_err(|_| reasons.push(format!("count \"{}\" är inget tal", field("count"))));
        let share = match field("share").as_str() {
            "" => Ok(None),
            s => number(s).map(Some).map_err(|_| reasons.push(format!("share \"{s}\" är inget tal"))),
        };
        let base = field("base")
            .parse::<u64>()
            .map_err(|_| reasons.push(format!("base \"{}\" är inget heltal", field("base"))));
        let year = field("year").parse::<i64>().ok().filter(|y| (1900..=2200).contains(y));
        if year.is_none() {
            reasons.push(format!("year \"{}\" är inget årtal", field("year")));
        }
        match (count, share, base, year, reasons.is_empty()) {
            (Ok(count), Ok(share), Ok(base), Some(year), true) => figures.push(Figure {
                question: field("question"),
                row: field("row"),
                column: field("column"),
                group: field("group"),
                code: field("code"),
                count,
                share,
                base,
                year,
            }),
            _ => problems.push(RowProblem { line, message: reasons.join("; ") }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_dialects_and_names_every_bad_row() {
        let plain = "question,row,column,group,code,count,share,base,year\nobserverat,,,alla,ja,4,0.25,16,2017\n";
        let excel =
            "\u{feff}question;row;column;group;code;count;share;base;year\r\nobserverat;;;alla;ja;4;0,25;16;2017\r\n";
        let a = parse_tallies_csv(plain.as_bytes()).unwrap();
        assert_eq!(a, parse_tallies_csv(excel.as_bytes()).unwrap());
        assert_eq!((a[0].count, a[0].share, a[0].year), (4.0, Some(0.25), 2017));
        let bad = "question,row,column,group,code,count,share,base,year\nobserverat,,,alla,ja,fyra,,16,2017\n,,,alla,ja,1,,1,17\n";
        let p = parse_tallies_csv(bad.as_bytes()).unwrap_err();
        assert_eq!(p[0].to_string(), "rad 2: count \"fyra\" är inget tal");
        assert_eq!(p[1].to_string(), "rad 3: question saknas; year \"17\" är inget årtal");
        // Excel's CRLF lines are counted as the spreadsheet numbers them.
        let p = parse_tallies_csv(bad.replace('\n', "\r\n").as_bytes()).unwrap_err();
        assert_eq!(p[0].to_string(), "rad 2: count \"fyra\" är inget tal");
        assert_eq!(p[1].to_string(), "rad 3: question saknas; year \"17\" är inget årtal");
    }
}
