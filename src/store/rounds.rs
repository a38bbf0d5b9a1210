//! Rounds, and each round's own email texts and reminder schedule.

use super::{Store, Tx, now, parse_date};
use crate::outbox::RoundMail;
use crate::round::Round;
use jiff::civil::Date;
use sqlx::AssertSqlSafe;

const ROUND_COLUMNS: &str = "id, key, survey_id, title, year, opens_on, closes_on, definition, disclosure_threshold";

#[derive(sqlx::FromRow)]
struct RoundRow {
    id: i64,
    key: String,
    survey_id: String,
    title: String,
    year: i64,
    opens_on: String,
    closes_on: String,
    definition: String,
    disclosure_threshold: i64,
}

impl TryFrom<RoundRow> for Round {
    type Error = anyhow::Error;
    fn try_from(r: RoundRow) -> anyhow::Result<Round> {
        Ok(Round {
            id: r.id,
            key: r.key,
            survey_id: r.survey_id,
            title: r.title,
            year: r.year,
            opens_on: parse_date(&r.opens_on)?,
            closes_on: parse_date(&r.closes_on)?,
            definition: r.definition,
            disclosure_threshold: r.disclosure_threshold as u64,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RoundSummary {
    pub round: Round,
    pub recipients: i64,
    pub submitted: i64,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    #[sqlx(flatten)]
    round: RoundRow,
    recipients: i64,
    submitted: i64,
}

#[derive(sqlx::FromRow)]
struct RoundMailRow {
    invitation_subject: Option<String>,
    invitation_text: Option<String>,
    reminder_subject: Option<String>,
    reminder_text: Option<String>,
    contact: Option<String>,
    reminder_schedule: String,
}

impl From<RoundMailRow> for RoundMail {
    fn from(r: RoundMailRow) -> RoundMail {
        RoundMail {
            invitation_subject: r.invitation_subject,
            invitation_text: r.invitation_text,
            reminder_subject: r.reminder_subject,
            reminder_text: r.reminder_text,
            contact: r.contact,
            reminder_schedule: r.reminder_schedule,
        }
    }
}

impl Tx {
    /// Creates a round; `None` if a round with that key exists already.
    pub async fn create_round(&mut self, r: &Round) -> anyhow::Result<Option<Round>> {
        let row: Option<RoundRow> = sqlx::query_as(AssertSqlSafe(format!(
            "INSERT INTO rounds (key, survey_id, title, year, opens_on, closes_on, definition, created_at, disclosure_threshold)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO NOTHING RETURNING {ROUND_COLUMNS}"
        )))
        .bind(&r.key)
        .bind(&r.survey_id)
        .bind(&r.title)
        .bind(r.year)
        .bind(r.opens_on.to_string())
        .bind(r.closes_on.to_string())
        .bind(&r.definition)
        .bind(now())
        .bind(r.disclosure_threshold as i64)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(Round::try_from).transpose()
    }

    /// Moves the round's last day; the first day stays.
    pub async fn set_closes_on(&mut self, round_id: i64, closes_on: Date) -> anyhow::Result<()> {
        sqlx::query("UPDATE rounds SET closes_on = $1 WHERE id = $2")
            .bind(closes_on.to_string())
            .bind(round_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_round_mail(&mut self, round_id: i64, mail: &RoundMail) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO round_mail (round_id, invitation_subject, invitation_text, reminder_subject, reminder_text,
                                     contact, reminder_schedule)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (round_id) DO UPDATE SET invitation_subject = excluded.invitation_subject,
                 invitation_text = excluded.invitation_text, reminder_subject = excluded.reminder_subject,
                 reminder_text = excluded.reminder_text, contact = excluded.contact,
                 reminder_schedule = excluded.reminder_schedule",
        )
        .bind(round_id)
        .bind(&mail.invitation_subject)
        .bind(&mail.invitation_text)
        .bind(&mail.reminder_subject)
        .bind(&mail.reminder_text)
        .bind(&mail.contact)
        .bind(&mail.reminder_schedule)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Store {
    pub async fn round(&self, key: &str) -> anyhow::Result<Option<Round>> {
        let row: Option<RoundRow> =
            sqlx::query_as(AssertSqlSafe(format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE key = $1")))
                .bind(key)
                .fetch_optional(&self.read)
                .await?;
        row.map(Round::try_from).transpose()
    }

    pub async fn round_by_id(&self, id: i64) -> anyhow::Result<Round> {
        let row: RoundRow = sqlx::query_as(AssertSqlSafe(format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1")))
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        row.try_into()
    }

    /// Every round, newest year first, with its recipients and answers.
    pub async fn rounds(&self) -> anyhow::Result<Vec<RoundSummary>> {
        let rows: Vec<SummaryRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ROUND_COLUMNS},
                    (SELECT COUNT(*) FROM recipients WHERE round_id = rounds.id) AS recipients,
                    (SELECT COUNT(*) FROM recipients WHERE round_id = rounds.id AND submitted_on IS NOT NULL) AS submitted
             FROM rounds ORDER BY year DESC, key"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| Ok(RoundSummary { round: r.round.try_into()?, recipients: r.recipients, submitted: r.submitted }))
            .collect()
    }

    /// Every round of a survey, oldest first.
    pub async fn rounds_of(&self, survey_id: &str) -> anyhow::Result<Vec<Round>> {
        let rows: Vec<RoundRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ROUND_COLUMNS} FROM rounds WHERE survey_id = $1 ORDER BY year, id"
        )))
        .bind(survey_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Round::try_from).collect()
    }

    /// The round's own email texts and schedule; the templates' own where none were set.
    pub async fn round_mail(&self, round_id: i64) -> anyhow::Result<RoundMail> {
        let row: Option<RoundMailRow> = sqlx::query_as(
            "SELECT invitation_subject, invitation_text, reminder_subject, reminder_text, contact, reminder_schedule
             FROM round_mail WHERE round_id = $1",
        )
        .bind(round_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(RoundMail::from).unwrap_or_default())
    }

    /// Rounds with automatic reminders, and their schedules as written.
    pub async fn reminder_schedules(&self) -> anyhow::Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as("SELECT round_id, reminder_schedule FROM round_mail WHERE reminder_schedule <> ''")
            .fetch_all(&self.read)
            .await?)
    }
}
