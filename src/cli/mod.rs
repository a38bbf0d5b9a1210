//! The command line: the server, and the coordinator's and operator's work without a browser.
//! Each command parses its arguments, calls a use case (`coordinator`) or the analysis, and
//! prints the outcome in Swedish; a refusal exits with code 2, a technical failure with 1.

mod accounts;
mod analysis;
mod mail;
mod rounds;

use crate::config::{MailSettings, ServeSettings, Settings};
use crate::export::Dialect;
use crate::store::Store;
use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::Date;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "lagesbild", version, about = "Enkätmotor för den lokala lägesbilden om våldsbejakande extremism")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(flatten)]
    pub mail: MailSettings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (the default when no command is given).
    Serve {
        #[command(flatten)]
        serve: ServeSettings,
        /// Create a demo round open today with three test recipients, and print their links.
        #[arg(long)]
        demo: bool,
    },
    /// Survey definitions.
    #[command(subcommand)]
    Survey(SurveyCommand),
    /// Rounds: one year's sending of a survey.
    #[command(subcommand)]
    Round(RoundCommand),
    /// The recipient roster of a round.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Accounts of the admin pages (coordinators and analysts).
    #[command(subcommand)]
    User(UserCommand),
    /// CSV exports for analysts.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Figures of years before this system.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Write a consistent copy of the SQLite database to a new file, while the server runs.
    /// (The draft key file is not in it: back that up apart.)
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place as the database DATABASE_URL names, which must not exist yet.
    Restore { file: PathBuf },
    /// Records management (gallring): delete now what the round's rule covers (names,
    /// addresses, organisations, links, drafts, the relay's replies; free-text answers if the
    /// rule says so). The round must have closed. The server does this by itself when the
    /// rule's days have passed.
    Gallra {
        #[arg(long)]
        round: String,
        /// Count what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Disclosure control of what a round publishes.
    #[command(subcommand)]
    Disclosure(DisclosureCommand),
    /// Draw the round's charts as PNG and SVG files into a folder.
    Charts {
        #[arg(long)]
        round: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the draft of the "Lokal lägesbild" section from templates/report/, as Markdown
    /// (with the charts as PNG files beside it) or as one self-contained HTML file.
    Report {
        #[arg(long)]
        round: String,
        #[arg(long, value_enum, default_value = "markdown")]
        format: crate::report::Format,
        /// The file to write (default: standard output, without chart files).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a CSV of email, name, organisation and personal link for a round's recipients
    /// (for a mail merge).
    /// Each run mints new links; links written earlier keep working.
    Links {
        #[arg(long)]
        round: String,
        /// Only recipients who have not answered yet.
        #[arg(long)]
        pending: bool,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Queue an invitation email for every recipient who has none yet and has not answered.
    /// Running it again queues only for recipients added since.
    Invite {
        #[arg(long)]
        round: String,
    },
    /// Queue a reminder email for every invited recipient who has not answered, except those
    /// reminded within the last REMINDER_MIN_DAYS days.
    Remind {
        #[arg(long)]
        round: String,
    },
    /// Deliver the queued emails without the server, then exit.
    Send {
        /// Only this round's emails (default: every round's).
        #[arg(long)]
        round: Option<String>,
        /// Deliver what is due now and exit, instead of waiting for emails to be retried later.
        #[arg(long)]
        no_wait: bool,
        /// Queue the round's failed emails again first (after fixing what made them fail).
        #[arg(long)]
        retry_failed: bool,
        /// Also queue again the emails whose sending was interrupted (they may have arrived).
        #[arg(long)]
        resend_uncertain: bool,
    },
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// One row per submitted response, one column per question (0/1 per option and grid cell),
    /// with group and category and nothing that identifies the respondent.
    Responses {
        #[arg(long)]
        round: String,
        #[arg(long, value_enum, default_value = "plain")]
        dialect: Dialect,
        /// Add a second header row with the question texts.
        #[arg(long)]
        labels: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// One row per published figure, small groups and categories folded into "övriga".
    Tallies {
        #[arg(long)]
        round: String,
        #[arg(long, value_enum, default_value = "plain")]
        dialect: Dialect,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Every year of a survey (rounds and imported history), each figure with its change.
    Trend {
        #[arg(long)]
        survey: String,
        #[arg(long, value_enum, default_value = "plain")]
        dialect: Dialect,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an account and print a one-time link (valid 7 days) where its password is chosen.
    Add {
        /// coordinator (runs rounds) or analyst (reads results).
        #[arg(long)]
        role: crate::account::Role,
        email: String,
    },
    /// A new one-time password link for an account (for a forgotten password).
    Link { email: String },
    /// List the accounts.
    List,
}

#[derive(Subcommand)]
pub enum DisclosureCommand {
    /// Check every figure the round publishes (tallies, and so the charts, the report and the
    /// trend) and the groups of its responses export: no published or derivable figure may
    /// rest on fewer respondents than the round's threshold. Exits 1 on any finding.
    Check {
        #[arg(long)]
        round: String,
    },
}

#[derive(Subcommand)]
pub enum HistoryCommand {
    /// Import earlier years' figures from a tallies CSV (same columns as `export tallies`).
    Import {
        #[arg(long)]
        survey: String,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum SurveyCommand {
    /// Check definition files and print every problem with its line and column.
    Check { files: Vec<PathBuf> },
}

#[derive(Subcommand)]
pub enum RoundCommand {
    /// Create a round of a survey in surveys/.
    Create {
        /// Survey id, for example `lagesbild`.
        #[arg(long)]
        survey: String,
        #[arg(long)]
        year: i16,
        /// First day respondents can answer (YYYY-MM-DD).
        #[arg(long)]
        opens: Date,
        /// Last day respondents can answer (YYYY-MM-DD).
        #[arg(long)]
        closes: Date,
        /// Name of the round on the command line (default: SURVEY-YEAR).
        #[arg(long)]
        key: Option<String>,
        /// Title shown to respondents (default: the survey's title and the year).
        #[arg(long)]
        title: Option<String>,
        /// Published breakdowns never show a group or category with fewer respondents (default 5, at least 3).
        #[arg(long)]
        disclosure_threshold: Option<u64>,
    },
    /// List the rounds with their response counts.
    List,
    /// Invited, delivered, failed, opened, answered and reminded, per group and category,
    /// and the addresses whose emails failed, with the reason.
    Status {
        #[arg(long)]
        round: String,
    },
    /// Show or change the round's emails: subjects, texts, contact line and automatic reminders.
    /// Texts may use {{title}}, {{closes}}, {{opens}}, {{name}}, {{organisation}} and {{link}};
    /// `@FILE` reads a text from a file, an empty text restores the template's own.
    Mail {
        #[arg(long)]
        round: String,
        #[arg(long)]
        invitation_subject: Option<String>,
        /// The invitation's message; blank lines separate paragraphs.
        #[arg(long)]
        invitation_text: Option<String>,
        #[arg(long)]
        reminder_subject: Option<String>,
        #[arg(long)]
        reminder_text: Option<String>,
        /// The line at the end of every email saying whom to contact, e.g. "Frågor: Anna Berg, 08-123 45 67".
        #[arg(long)]
        contact: Option<String>,
        /// Automatic reminders, in days after the invitation and (negative) before closing,
        /// e.g. `7,14,-2`; `none` for none.
        #[arg(long)]
        reminders: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum RosterCommand {
    /// Import recipients from CSV (email,name,organisation,group,category).
    Import {
        #[arg(long)]
        round: String,
        file: PathBuf,
    },
}

/// Standard output, or a file created for the purpose.
fn output(path: &Option<PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}}")).expect("valid template"));
    bar
}

/// The exit code for a command's failure: 2 when the input was refused (a use case's
/// `coordinator::Error`, which says what to correct), 1 for anything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<crate::coordinator::Error>().map_or(1, crate::coordinator::Error::exit_code)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    let mail = cli.mail;
    let command = cli.command.unwrap_or(Command::Serve { serve: ServeSettings::parse_defaults(), demo: false });
    if let Command::Survey(SurveyCommand::Check { files }) = &command {
        return analysis::check(files);
    }
    // Before connecting, which would create the database the restore must find absent.
    if let Command::Restore { file } = &command {
        let target = crate::store::backup::restore(&settings.database_url, file).await?;
        // A copy whose schema cannot be brought up to this version is taken away again, so
        // that the target is as it was and a corrected restore can follow.
        let store = match Store::connect(&format!("sqlite://{}", target.display())).await {
            Ok(store) => store,
            Err(e) => {
                for leftover in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{leftover}", target.display()));
                }
                return Err(e.context(format!("{} was not restored", file.display())));
            }
        };
        println!(
            "Återställde {} till {} (databasen är uppdaterad till den här versionen).",
            file.display(),
            target.display()
        );
        drop(store);
        return Ok(());
    }
    if let Command::Backup { .. } = &command {
        crate::store::backup::existing(&settings.database_url)?;
    }
    let store = Store::connect(&settings.database_url).await?;
    match command {
        Command::Survey(_) | Command::Restore { .. } => unreachable!("handled above"),
        Command::Backup { out } => {
            let bytes = crate::store::backup::backup(&store, &out).await?;
            println!("Skrev en säkerhetskopia till {} ({} kB).", out.display(), bytes / 1024);
            Ok(())
        }
        Command::Serve { serve, demo } => rounds::serve(&settings, &mail, serve, demo, store).await,
        Command::Round(RoundCommand::Create { survey, year, opens, closes, key, title, disclosure_threshold }) => {
            let new = crate::coordinator::NewRound {
                survey_id: survey,
                year,
                opens: Some(opens),
                closes: Some(closes),
                key,
                title,
                disclosure_threshold,
                mail: Default::default(),
            };
            rounds::create(&settings, &store, new).await
        }
        Command::Round(RoundCommand::List) => rounds::list(&store).await,
        Command::Round(RoundCommand::Status { round }) => mail::status(&store, &mail, &round).await,
        Command::Round(RoundCommand::Mail {
            round,
            invitation_subject,
            invitation_text,
            reminder_subject,
            reminder_text,
            contact,
            reminders,
        }) => {
            let changes = crate::coordinator::MailChanges {
                invitation_subject,
                invitation_text,
                reminder_subject,
                reminder_text,
                contact,
                reminders,
            };
            mail::round_mail(&settings, &mail, &store, &round, changes).await
        }
        Command::Roster(RosterCommand::Import { round, file }) => rounds::import(&store, &round, &file).await,
        Command::Links { round, pending, out } => rounds::links(&settings, &store, &round, pending, &out).await,
        Command::User(command) => accounts::run(&settings, &store, command).await,
        Command::Invite { round } => mail::invite(&store, &mail, &round).await,
        Command::Remind { round } => mail::remind(&store, &mail, &round).await,
        Command::Send { round, no_wait, retry_failed, resend_uncertain } => {
            mail::send(&settings, &mail, &store, round.as_deref(), !no_wait, retry_failed, resend_uncertain).await
        }
        Command::Export(command) => analysis::export(&store, command).await,
        Command::History(HistoryCommand::Import { survey, file }) => {
            analysis::import_history(&store, &survey, &file).await
        }
        Command::Charts { round, out } => analysis::charts(&store, &round, &out).await,
        Command::Gallra { round, dry_run } => rounds::gallra(&store, &round, dry_run).await,
        Command::Disclosure(DisclosureCommand::Check { round }) => analysis::disclosure_check(&store, &round).await,
        Command::Report { round, format, out } => analysis::report(&settings, &store, &round, format, &out).await,
    }
}

impl ServeSettings {
    /// The serve settings from the environment and defaults, for `lagesbild` with no command.
    fn parse_defaults() -> ServeSettings {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeSettings,
        }
        Only::parse_from(["lagesbild"]).serve
    }
}
