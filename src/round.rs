//! A round: one year's sending of a survey, open between two dates (inclusive, in Swedish time).

use jiff::civil::Date;

pub const TIME_ZONE: &str = "Europe/Stockholm";

#[derive(Debug, Clone)]
pub struct Round {
    pub id: i64,
    /// The name used on the command line and in URLs, for example `lagesbild-2027`.
    pub key: String,
    pub survey_id: String,
    pub title: String,
    pub year: i64,
    pub opens_on: Date,
    pub closes_on: Date,
    /// The survey definition as it was when the round was created.
    pub definition: String,
    /// Published breakdowns never show fewer respondents than this (at least 3).
    pub disclosure_threshold: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    NotYetOpen,
    Open,
    Closed,
}

impl Phase {
    pub fn on(today: Date, opens_on: Date, closes_on: Date) -> Phase {
        if today < opens_on {
            Phase::NotYetOpen
        } else if today > closes_on {
            Phase::Closed
        } else {
            Phase::Open
        }
    }
}

/// A round's name on the command line and in URLs: letters a-z, digits, - and _.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundKey(String);

impl RoundKey {
    pub fn parse(key: &str) -> Result<RoundKey, String> {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("Kortnamnet ”{key}” får bara innehålla bokstäverna a–z, siffror, - och _."));
        }
        Ok(RoundKey(key.to_string()))
    }
}

impl std::fmt::Display for RoundKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Round {
    pub fn phase(&self, today: Date) -> Phase {
        Phase::on(today, self.opens_on, self.closes_on)
    }
}

/// Today's date in Sweden, which decides whether a round is open and what day a response is dated.
pub fn today() -> Date {
    jiff::Zoned::now().with_time_zone(time_zone()).date()
}

/// The Swedish date of a moment (Unix seconds), as `swedish_date` writes it.
pub fn swedish_date_of(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds).ok().map(|t| swedish_date(t.to_zoned(time_zone()).date()))
}

/// A moment (Unix ms) as Swedish readers write it: "31 mars 2027 kl. 14:05".
pub fn swedish_moment(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => {
            let z = t.to_zoned(time_zone());
            format!("{} kl. {:02}:{:02}", swedish_date(z.date()), z.hour(), z.minute())
        }
        Err(_) => String::new(),
    }
}

/// The time of day of a moment (Unix ms) in Sweden: "14:05".
pub fn clock_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            let z = t.to_zoned(time_zone());
            format!("{:02}:{:02}", z.hour(), z.minute())
        })
        .unwrap_or_default()
}

/// Sweden's time zone, bundled with the binary.
pub fn time_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(TIME_ZONE).expect("bundled time zone")
}

/// The months' Swedish names, January first.
pub const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// A date as Swedish readers write it: "31 mars 2027".
pub fn swedish_date(d: Date) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month() as usize - 1], d.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_round_is_open_from_its_first_to_its_last_day() {
        let r = Round {
            id: 1,
            key: "k".into(),
            survey_id: "s".into(),
            title: "t".into(),
            year: 2027,
            opens_on: date(2027, 3, 1),
            closes_on: date(2027, 3, 31),
            definition: String::new(),
            disclosure_threshold: 5,
        };
        assert_eq!(r.phase(date(2027, 2, 28)), Phase::NotYetOpen);
        assert_eq!(r.phase(date(2027, 3, 1)), Phase::Open);
        assert_eq!(r.phase(date(2027, 3, 31)), Phase::Open);
        assert_eq!(r.phase(date(2027, 4, 1)), Phase::Closed);
        assert_eq!(swedish_date(date(2027, 3, 31)), "31 mars 2027");
    }
}
