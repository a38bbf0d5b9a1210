//! The other sources of a year's lägesbild: what the police, the incident system IA, the
//! concern reports, a specialist administration and others reported. These are official
//! statements of organisations, not anonymous answers: the report publishes each as written,
//! with the source named, and lists every source with what it covers.

/// A form field's name, as the admin form posts it.
pub type Field = &'static str;
use crate::incident::Month;

/// The kinds of source, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum SourceKind {
    Police,
    IncidentSystem,
    ConcernReports,
    LeavingMilieu,
    Relatives,
    Administration,
    MediaMonitoring,
    Other,
}

pub const KINDS: [SourceKind; 8] = [
    SourceKind::Police,
    SourceKind::IncidentSystem,
    SourceKind::ConcernReports,
    SourceKind::LeavingMilieu,
    SourceKind::Relatives,
    SourceKind::Administration,
    SourceKind::MediaMonitoring,
    SourceKind::Other,
];

impl SourceKind {
    pub fn code(self) -> &'static str {
        match self {
            SourceKind::Police => "polisen",
            SourceKind::IncidentSystem => "ia",
            SourceKind::ConcernReports => "orosanmalningar",
            SourceKind::LeavingMilieu => "avhopp",
            SourceKind::Relatives => "anhoriga",
            SourceKind::Administration => "fackforvaltning",
            SourceKind::MediaMonitoring => "mediebevakning",
            SourceKind::Other => "annan",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Police => "Polisen",
            SourceKind::IncidentSystem => "IA-systemet",
            SourceKind::ConcernReports => "Orosanmälningar",
            SourceKind::LeavingMilieu => "Förfrågningar om stöd att lämna en miljö",
            SourceKind::Relatives => "Anhörigas förfrågningar om stöd",
            SourceKind::Administration => "Fackförvaltning",
            SourceKind::MediaMonitoring => "Mediebevakning",
            SourceKind::Other => "Annan källa",
        }
    }

    /// What a source of this kind (named `name`) covers, said in the list of sources unless
    /// the coordinator writes it otherwise.
    pub fn covers(self, name: &str) -> String {
        let text = match self {
            SourceKind::Police => {
                "Lokalpolisens bild av personer och grupper med känt samröre med de våldsbejakande extremistiska miljöerna i området."
            }
            SourceKind::IncidentSystem => {
                "Händelser som förvaltningens medarbetare har rapporterat i incidentrapporteringssystemet IA; bara det som rapporterats kommer med."
            }
            SourceKind::ConcernReports => "Orosanmälningar till socialtjänsten med inslag av våldsbejakande extremism.",
            SourceKind::LeavingMilieu => {
                "Personer som vänt sig till förvaltningen för att få hjälp att lämna en miljö."
            }
            SourceKind::Relatives => "Anhöriga som vänt sig till förvaltningen för att få stöd.",
            SourceKind::Administration => {
                return format!("Det {} har rapporterat om stadsdelsområdet.", name.to_lowercase());
            }
            SourceKind::MediaMonitoring => "Det som rapporterats i medier om stadsdelsområdet.",
            SourceKind::Other => "",
        };
        text.to_string()
    }

    /// Kinds whose source is one organisation among several and so must be named.
    pub fn needs_name(self) -> bool {
        matches!(self, SourceKind::Administration | SourceKind::Other)
    }

    pub fn parse(code: &str) -> Option<SourceKind> {
        KINDS.into_iter().find(|k| k.code() == code)
    }
}

/// An entry as the coordinator wrote it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub year: i64,
    pub kind: SourceKind,
    /// The organisation: "Trafikkontoret"; for the kinds that name themselves, their label.
    pub name: String,
    pub from: Month,
    pub to: Month,
    /// Cases in all, when the source gives a number.
    pub total: Option<i64>,
    /// Counts by kind of expression × milieu, when the source gives them.
    pub counts: Vec<(String, String, i64)>,
    /// Written for publication, published as written.
    pub text: String,
    /// What the source covers as the coordinator wrote it; empty for the kind's own words.
    pub covers: String,
}

impl Entry {
    /// What the source covers, for the list of sources.
    pub fn covers(&self) -> String {
        if self.covers.is_empty() { self.kind.covers(&self.name) } else { self.covers.clone() }
    }

    /// The name to show in the form: empty when it is the kind's own label.
    pub fn name_as_typed(&self) -> &str {
        if self.name == self.kind.label() { "" } else { &self.name }
    }
}

pub const TEXT_LIMIT: usize = 1500;

/// The form's fields as posted.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    pub kind: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub total: String,
    /// (kind, milieu, typed count)
    pub counts: Vec<(String, String, String)>,
    pub text: String,
    pub covers: String,
}

/// Checks an entry, naming each problem at its field.
pub fn check(year: i64, p: &Posted, kinds: &[String], milieus: &[String]) -> Result<Entry, Vec<(Field, String)>> {
    let mut problems = Vec::new();
    let kind = SourceKind::parse(p.kind.trim());
    if kind.is_none() {
        problems.push(("kind", "Välj vilken sorts källa det är.".to_string()));
    }
    let name = p.name.trim();
    if kind.is_some_and(SourceKind::needs_name) && name.is_empty() {
        problems.push(("name", "Skriv källans namn, till exempel Trafikkontoret.".to_string()));
    }
    if name.chars().count() > 120 {
        problems.push(("name", "Namnet får vara högst 120 tecken.".to_string()));
    }
    let month = |text: &str, field: Field, what: &str, problems: &mut Vec<(Field, String)>| {
        let m = Month::parse(text);
        if m.is_none() {
            problems.push((field, format!("{what} ska vara en månad skriven som ÅÅÅÅ-MM, till exempel {year}-01.")));
        }
        m
    };
    let from = month(&p.from, "from", "Periodens början", &mut problems);
    let to = month(&p.to, "to", "Periodens slut", &mut problems);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        problems.push(("to", "Periodens slut ligger före dess början.".to_string()));
    }
    let number = |text: &str| -> Result<Option<i64>, ()> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>().ok().filter(|n| (0..=100_000).contains(n)).map(Some).ok_or(())
    };
    let total = number(&p.total).unwrap_or_else(|()| {
        problems.push(("total", "Antalet ska vara ett heltal från 0 till 100 000, eller tomt.".to_string()));
        None
    });
    let mut counts: Vec<(String, String, i64)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (k, m, typed) in &p.counts {
        if !kinds.contains(k) || !milieus.contains(m) {
            problems.push(("counts", format!("Okänd sort eller miljö i antalen: {k} / {m}.")));
            continue;
        }
        if !seen.insert((k, m)) {
            problems.push(("counts", format!("Antalet för {k} / {m} står två gånger.")));
            continue;
        }
        match number(typed) {
            Ok(Some(n)) => counts.push((k.clone(), m.clone(), n)),
            Ok(None) => {}
            Err(()) => problems.push((
                "counts",
                format!("Antalet för {k} / {m} ska vara ett heltal från 0 till 100 000, eller tomt."),
            )),
        }
    }
    let text = p.text.trim();
    if text.is_empty() {
        problems.push(("text", "Skriv vad källan säger, som det ska stå i lägesbilden.".to_string()));
    }
    if text.chars().count() > TEXT_LIMIT {
        problems.push(("text", format!("Texten får vara högst {TEXT_LIMIT} tecken.")));
    }
    match (kind, from, to) {
        (Some(kind), Some(from), Some(to)) if problems.is_empty() => Ok(Entry {
            year,
            kind,
            name: if name.is_empty() { kind.label().to_string() } else { name.to_string() },
            from,
            to,
            total,
            counts,
            text: text.to_string(),
            // Empty: `Entry::covers` says it from the kind and name when the report is made.
            covers: p.covers.trim().to_string(),
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_checked_field_by_field() {
        let kinds = vec!["klotter".to_string()];
        let milieus = vec!["vit_makt".to_string()];
        let good = Posted {
            kind: "fackforvaltning".into(),
            name: "Trafikkontoret".into(),
            from: "2018-01".into(),
            to: "2018-12".into(),
            total: "1".into(),
            counts: vec![("klotter".into(), "vit_makt".into(), "1".into())],
            text: "Trafikkontoret inrapporterade skadegörelse i form av klotter.".into(),
            covers: String::new(),
        };
        let e = check(2019, &good, &kinds, &milieus).unwrap();
        assert_eq!((e.name.as_str(), e.total, e.counts.len()), ("Trafikkontoret", Some(1), 1));
        assert_eq!(e.covers(), "Det trafikkontoret har rapporterat om stadsdelsområdet.");
        let bad = Posted {
            name: String::new(),
            from: "2018-01-05".into(),
            to: "2017-12".into(),
            total: "många".into(),
            text: " ".into(),
            ..good
        };
        let fields: Vec<Field> = check(2019, &bad, &kinds, &milieus).unwrap_err().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["name", "from", "total", "text"]);
    }
}
