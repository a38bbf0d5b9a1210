//! Records management (gallring): what a round keeps after it has closed, and for how long.
//!
//! A round's figures (responses, tallies, charts, the report) are kept. What identifies
//! people is not: some days after the round closes (90 unless the coordinator chose
//! otherwise) the recipients' names, addresses and organisations, every personal link,
//! every draft, kept roster files and the relay's replies (which quote addresses) are
//! deleted. The recipients' groups and categories stay, so the response rate stays the
//! same. Free-text answers can be deleted too, after a number of days of their own.

use jiff::Span;
use jiff::civil::Date;

/// Days after closing when the personal data goes, unless the coordinator chose otherwise.
pub const DEFAULT_DAYS: u32 = 90;
/// The longest a rule may keep anything: ten years.
pub const MAX_DAYS: u32 = 3650;

/// A round's rule, as the coordinator set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Days after the last day of answering when names, addresses, links and drafts go.
    pub personal_after_days: u32,
    /// Days after the last day when free-text answers go; `None` keeps them.
    pub free_text_after_days: Option<u32>,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule { personal_after_days: DEFAULT_DAYS, free_text_after_days: None }
    }
}

/// A round's rule and what of it has been done (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct State {
    pub rule: Rule,
    /// The rule was decided: every round made since rules exist, or one a coordinator saved.
    /// The server applies only decided rules, so an upgrade deletes nothing on its own.
    pub decided: bool,
    pub personal_erased_at: Option<i64>,
    pub free_text_erased_at: Option<i64>,
}

/// What a deletion is to cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    pub personal: bool,
    pub free_text: bool,
}

impl Due {
    pub fn any(&self) -> bool {
        self.personal || self.free_text
    }
}

impl Default for State {
    fn default() -> State {
        State { rule: Rule::default(), decided: true, personal_erased_at: None, free_text_erased_at: None }
    }
}

impl Rule {
    /// Reads the rule from the form's two fields: whole days, and for free text whole days
    /// or nothing (keep). Each problem is a Swedish sentence naming its field.
    pub fn parse(personal: &str, free_text: &str) -> Result<Rule, Vec<(&'static str, String)>> {
        let days = |field: &'static str, text: &str, what: &str| match text.trim().parse::<u32>() {
            Ok(d) if d <= MAX_DAYS => Ok(d),
            _ => Err((
                field,
                format!("{what} ska vara ett helt antal dagar mellan 0 och {MAX_DAYS}, inte ”{}”.", text.trim()),
            )),
        };
        let personal = days("gallra_dagar", personal, "Tiden till gallring av namn och adresser");
        let free_text = if free_text.trim().is_empty() {
            Ok(None)
        } else {
            days("fritext_dagar", free_text, "Tiden till gallring av fritextsvar").map(Some)
        };
        match (personal, free_text) {
            (Ok(personal_after_days), Ok(free_text_after_days)) => {
                Ok(Rule { personal_after_days, free_text_after_days })
            }
            (p, f) => Err(p.err().into_iter().chain(f.err()).collect()),
        }
    }

    pub fn personal_due_on(&self, closes_on: Date) -> Date {
        after(closes_on, self.personal_after_days)
    }

    pub fn free_text_due_on(&self, closes_on: Date) -> Option<Date> {
        self.free_text_after_days.map(|d| after(closes_on, d))
    }
}

impl State {
    /// What the rule calls for on `today` that has not been done: nothing while the round
    /// can still be answered, or before its days have passed.
    pub fn due(&self, closes_on: Date, today: Date) -> Due {
        if !self.decided {
            return Due::default();
        }
        Due {
            personal: self.personal_erased_at.is_none()
                && today > closes_on
                && today >= self.rule.personal_due_on(closes_on),
            free_text: self.free_text_erased_at.is_none()
                && today > closes_on
                && self.rule.free_text_due_on(closes_on).is_some_and(|d| today >= d),
        }
    }

    /// Everything the rule covers that has not been done, whatever the day: a deletion by hand.
    pub fn all_left(&self) -> Due {
        Due {
            personal: self.personal_erased_at.is_none(),
            free_text: self.free_text_erased_at.is_none() && self.rule.free_text_after_days.is_some(),
        }
    }

    /// Names, addresses and links are gone: nothing may be sent or minted for the round,
    /// and it cannot be opened again.
    pub fn personal_erased(&self) -> bool {
        self.personal_erased_at.is_some()
    }
}

fn after(closes_on: Date, days: u32) -> Date {
    closes_on.saturating_add(Span::new().days(i64::from(days)))
}

/// What a deletion removed (or, tried without committing, would remove), in counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Recipients whose name, address and organisation were deleted.
    pub recipients: u64,
    pub links: u64,
    pub drafts: u64,
    /// Emails that were still waiting to be sent and now never will be.
    pub unsent_emails: u64,
    /// The relay's replies kept with emails (they quote addresses).
    pub relay_replies: u64,
    pub roster_files: u64,
    /// Audit entries whose detail named a recipient's address.
    pub audit_details: u64,
    /// Responses from which free-text answers were deleted.
    pub free_text_responses: u64,
}

impl Erased {
    /// The counts in a Swedish sentence, for the audit log and the command line.
    pub fn describe(&self) -> String {
        let parts = [
            (self.recipients, "mottagares namn, adresser och organisationer"),
            (self.links, "personliga länkar"),
            (self.drafts, "påbörjade svar"),
            (self.unsent_emails, "e-postmeddelanden som ännu inte skickats"),
            (self.relay_replies, "svar från e-postservern"),
            (self.roster_files, "uppladdade mottagarlistor"),
            (self.audit_details, "adresser i loggen"),
            (self.free_text_responses, "svar med fritext (fritexten)"),
        ];
        let said: Vec<String> = parts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
        if said.is_empty() { "inget att radera".to_string() } else { said.join(", ") }
    }
}

/// The first month whose incident reports keep their descriptions when they are kept for
/// `months` after the month observed: older descriptions are deleted (the reports and their
/// counts stay).
pub fn incident_texts_kept_from(today: jiff::civil::Date, months: u32) -> crate::incident::Month {
    crate::incident::Month::of(today).minus(i64::from(months))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn nothing_is_due_before_the_days_have_passed_nor_twice() {
        let closes = date(2027, 3, 31);
        let mut state = State::default();
        assert_eq!(state.due(closes, date(2027, 6, 28)), Due::default());
        assert_eq!(state.due(closes, date(2027, 6, 29)), Due { personal: true, free_text: false });
        state.personal_erased_at = Some(1);
        assert_eq!(state.due(closes, date(2027, 12, 1)), Due::default());
    }

    #[test]
    fn a_rule_nobody_decided_is_not_applied_by_itself() {
        let state = State { decided: false, ..State::default() };
        assert!(!state.due(date(2020, 3, 31), date(2027, 1, 1)).any());
        assert!(state.all_left().personal, "by hand it can be");
    }

    #[test]
    fn zero_days_waits_until_the_round_has_closed() {
        let state = State { rule: Rule { personal_after_days: 0, free_text_after_days: Some(0) }, ..State::default() };
        let closes = date(2027, 3, 31);
        assert!(!state.due(closes, closes).any(), "the last day of answering is still open");
        assert_eq!(state.due(closes, date(2027, 4, 1)), Due { personal: true, free_text: true });
    }

    #[test]
    fn free_text_is_kept_unless_the_rule_says_otherwise() {
        assert!(!State::default().all_left().free_text);
        let state = State { rule: Rule { free_text_after_days: Some(30), ..Rule::default() }, ..State::default() };
        assert!(state.all_left().free_text);
    }

    #[test]
    fn a_rule_from_the_form_names_each_wrong_field() {
        assert_eq!(Rule::parse(" 90 ", ""), Ok(Rule::default()));
        assert_eq!(Rule::parse("30", "365").unwrap().free_text_after_days, Some(365));
        let problems = Rule::parse("nittio", "-1").unwrap_err();
        assert_eq!(problems.iter().map(|(f, _)| *f).collect::<Vec<_>>(), ["gallra_dagar", "fritext_dagar"]);
        assert!(problems[0].1.contains("”nittio”"), "{problems:?}");
        assert!(Rule::parse("3651", "").is_err());
    }

    #[test]
    fn counts_are_described_in_swedish_leaving_out_zeros() {
        let erased = Erased { recipients: 12, links: 12, drafts: 1, ..Erased::default() };
        assert_eq!(
            erased.describe(),
            "12 mottagares namn, adresser och organisationer, 12 personliga länkar, 1 påbörjade svar"
        );
        assert_eq!(Erased::default().describe(), "inget att radera");
    }
}
