//! The accessibility statement (tillgänglighetsredogörelse) that the law on accessibility of
//! digital public services requires, in the form DIGG prescribes: who stands behind the
//! service, how accessible it is, its known shortcomings, how to report a problem, the
//! supervisory authority, how it was tested and when it was last reviewed. The district
//! fills in its own parts; the rest is the service's.

use crate::address::EmailAddress;
use jiff::civil::Date;

/// What the district fills in.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Statement {
    /// Who stands behind the service, e.g. "Stadsdelsförvaltningen Farsta".
    pub organisation: String,
    /// Where to report a problem or ask for the content in another form.
    pub contact: String,
    /// The day the statement was last reviewed (YYYY-MM-DD).
    pub reviewed_on: String,
    /// Known shortcomings, one per line; empty when there are none.
    pub shortcomings: String,
}

impl Statement {
    /// Reads the form's fields; each problem is a Swedish sentence at its field.
    pub fn parse(
        organisation: &str,
        contact: &str,
        reviewed_on: &str,
        shortcomings: &str,
    ) -> Result<Statement, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        if organisation.trim().is_empty() {
            problems.push(("organisation", "Skriv vilken förvaltning som står bakom tjänsten.".to_string()));
        }
        if EmailAddress::parse(contact.trim()).is_err() {
            problems.push((
                "contact",
                format!(
                    "”{}” är ingen e-postadress: skriv den adress där brister kan rapporteras.",
                    crate::text::shown(contact)
                ),
            ));
        }
        if reviewed_on.trim().parse::<Date>().is_err() {
            problems.push((
                "reviewed_on",
                format!("”{}” är inget datum: skriv det som ÅÅÅÅ-MM-DD.", crate::text::shown(reviewed_on)),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Statement {
            organisation: organisation.trim().to_string(),
            contact: contact.trim().to_string(),
            reviewed_on: reviewed_on.trim().to_string(),
            shortcomings: shortcomings.trim().replace("\r\n", "\n"),
        })
    }

    /// The known shortcomings, a line each.
    pub fn shortcomings(&self) -> Vec<&str> {
        self.shortcomings.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
    }

    /// Fully compliant, or partly because of the shortcomings listed.
    pub fn compliance(&self) -> &'static str {
        if self.shortcomings().is_empty() { "helt förenlig" } else { "delvis förenlig" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrong_field_is_named_and_a_statement_without_shortcomings_is_fully_compliant() {
        let problems = Statement::parse(" ", "inte en adress", "31/3", "").unwrap_err();
        assert_eq!(problems.iter().map(|(f, _)| *f).collect::<Vec<_>>(), ["organisation", "contact", "reviewed_on"]);
        let s = Statement::parse("Farsta", "tillganglighet@stad.se", "2027-03-01", "").unwrap();
        assert_eq!(s.compliance(), "helt förenlig");
        let s =
            Statement::parse("Farsta", "a@stad.se", "2027-03-01", "Diagram i PDF\r\n\r\nGamla rapporter\r\n").unwrap();
        assert_eq!(s.shortcomings(), ["Diagram i PDF", "Gamla rapporter"]);
        assert_eq!(s.compliance(), "delvis förenlig");
    }
}
