//! Sending at the relay's pace: a city's Exchange or relay limits how fast one sender may
//! send (Exchange Online: 30 messages a minute, 10,000 recipients a day). With
//! `MAIL_PER_MINUTE`, handovers are spread evenly (one every 60/N seconds); with
//! `MAIL_PER_DAY`, no more than that many go in any 24 hours. A relay that answers "too many"
//! pauses every sender for a while instead of failing the email. The store keeps the
//! handovers and the pause in the database, so every instance keeps the same pace.

/// A day, in milliseconds: the window `per_day` counts over.
pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
}

/// What the pace needs to know of the handovers so far (Unix ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// The latest handover.
    pub last: Option<i64>,
    /// The `per_day`-th latest handover within the last day, if there were that many.
    pub day_cap_reached_at: Option<i64>,
    /// Every sender waits until then: the relay asked to slow down.
    pub paused_until: i64,
}

impl Pace {
    pub fn is_set(&self) -> bool {
        self.per_minute.is_some() || self.per_day.is_some()
    }

    fn spacing_ms(&self) -> i64 {
        self.per_minute.map_or(0, |n| 60_000 / i64::from(n.max(1)))
    }

    /// The earliest moment the next email may be handed over.
    pub fn next_at(&self, marks: Marks, now: i64) -> i64 {
        let mut at = now.max(marks.paused_until);
        if let Some(last) = marks.last {
            at = at.max(last + self.spacing_ms());
        }
        if let (Some(_), Some(reached)) = (self.per_day, marks.day_cap_reached_at) {
            at = at.max(reached + DAY_MS);
        }
        at
    }

    /// When the last of `waiting` emails will be handed over at this pace, given the
    /// handovers of the last day (`recent`, ascending); `None` when nothing waits or no pace
    /// is set (then they go as fast as the connections allow).
    pub fn last_handover(&self, waiting: u64, recent: &[i64], paused_until: i64, now: i64) -> Option<i64> {
        if waiting == 0 || !self.is_set() {
            return None;
        }
        let mut times = recent.to_vec();
        let mut at = now;
        for _ in 0..waiting {
            let cap = self.per_day.map_or(usize::MAX, |n| n.max(1) as usize);
            let marks = Marks {
                last: times.last().copied(),
                day_cap_reached_at: times.len().checked_sub(cap).map(|i| times[i]),
                paused_until,
            };
            at = self.next_at(marks, at);
            times.push(at);
        }
        Some(at)
    }
}

/// Whether a relay's temporary reply asks the sender to slow down: the enhanced status codes
/// of rate and resource limits (4.7.x policy, 4.5.3 too many recipients, 4.3.2 not accepting
/// now, 4.4.5 congestion), or, from a relay without enhanced codes, a text about too many
/// messages or throttling. A full mailbox (4.2.2) is the recipient's, not the sender's: it
/// stays an ordinary temporary failure.
pub fn asks_to_slow_down(reply: &str) -> bool {
    let reply = reply.to_lowercase();
    // lettre writes "transient error (452): 4.5.3 Too many ...": words without their brackets.
    let words: Vec<&str> = reply
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .collect();
    let Some(code) = words.iter().position(|w| matches!(*w, "421" | "432" | "450" | "451" | "452")) else {
        return false;
    };
    match words.get(code + 1).filter(|w| w.starts_with("4.") && w.split('.').count() == 3) {
        Some(enhanced) => enhanced.starts_with("4.7.") || matches!(*enhanced, "4.5.3" | "4.3.2" | "4.4.5"),
        None => ["too many", "throttl", "slow down", "rate limit"].iter().any(|w| reply.contains(w)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn per_minute_spreads_handovers_evenly() {
        let pace = Pace { per_minute: Some(30), per_day: None };
        assert_eq!(pace.next_at(Marks::default(), 1_000), 1_000, "nothing sent yet: now");
        let marks = Marks { last: Some(1_000), ..Marks::default() };
        assert_eq!(pace.next_at(marks, 1_500), 3_000, "one every two seconds");
        // 61 emails at 30 a minute: the last goes two minutes after the first.
        assert_eq!(pace.last_handover(61, &[], 0, 0), Some(2 * MINUTE));
    }

    #[test]
    fn per_day_holds_the_rest_until_the_window_frees_a_place() {
        let pace = Pace { per_minute: None, per_day: Some(3) };
        let recent = [10, 20, 30];
        let marks = Marks { last: Some(30), day_cap_reached_at: Some(10), paused_until: 0 };
        assert_eq!(pace.next_at(marks, 40), 10 + DAY_MS);
        // Two more: one place frees at 10 + a day, the next at 20 + a day.
        assert_eq!(pace.last_handover(2, &recent, 0, 40), Some(20 + DAY_MS));
        assert_eq!(pace.last_handover(0, &recent, 0, 40), None);
        assert_eq!(Pace::default().last_handover(5, &recent, 0, 40), None, "no pace: as fast as possible");
    }

    #[test]
    fn a_pause_holds_every_email() {
        let pace = Pace { per_minute: Some(600), per_day: None };
        let marks = Marks { last: Some(0), day_cap_reached_at: None, paused_until: 5_000 };
        assert_eq!(pace.next_at(marks, 1_000), 5_000);
    }

    #[test]
    fn only_temporary_replies_about_rates_slow_the_sender() {
        assert!(asks_to_slow_down("tillfälligt fel: 452 4.5.3 Too many messages, slow down"));
        assert!(asks_to_slow_down("transient error (452): 4.5.3 Too many messages, slow down"), "as lettre says it");
        assert!(asks_to_slow_down("421 4.7.0 rate limit exceeded"));
        assert!(asks_to_slow_down("432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"));
        assert!(asks_to_slow_down("450 Too many messages from this sender, slow down"), "no enhanced code");
        assert!(!asks_to_slow_down("451 4.3.0 mailbox temporarily unavailable"));
        assert!(!asks_to_slow_down("452 4.2.2 <x@example.se>: Quota exceeded (mailbox for user is full)"));
        assert!(!asks_to_slow_down("451 Try again later"), "an ordinary temporary failure");
        assert!(!asks_to_slow_down("550 5.7.1 too many recipients: refused"), "permanent");
        assert!(!asks_to_slow_down("connection refused"));
    }
}
