//! The command line: the server, and the coordinator's and operator's work without a browser.

use crate::admin::{NewRound, create_round, find_round, parse_roster};
use crate::analysis;
use crate::audit::Entry;
use crate::config::{MailSettings, ServeSettings, Settings};
use crate::export::Dialect;
use crate::outbox::commands::{self as mail_commands, MailChanges};
use crate::round::{swedish_date, today};
use crate::store::Store;
use crate::survey;
use crate::web::Application;
use anyhow::{Context, bail};
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

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    let mail = cli.mail;
    let command = cli.command.unwrap_or(Command::Serve { serve: ServeSettings::parse_defaults(), demo: false });
    match command {
        Command::Survey(SurveyCommand::Check { files }) => check(&files),
        Command::Serve { serve, demo } => {
            let store = Store::connect(&settings.database_url).await?;
            let app = Application::build(settings.clone(), serve.clone(), mail.clone(), store.clone()).await?;
            println!("lagesbild lyssnar på http://{} (länkarna börjar med {})", app.address(), settings.base_url);
            if demo {
                demo_round(&settings, &store).await?;
            } else if store.rounds().await?.is_empty() {
                println!("Det finns ingen omgång ännu. Prova med `lagesbild serve --demo`, eller skapa en:");
                println!(
                    "  lagesbild round create --survey lagesbild --year {} --opens {} --closes {}",
                    today().year(),
                    today(),
                    today().saturating_add(jiff::Span::new().days(30))
                );
                println!("  lagesbild roster import --round lagesbild-{} mottagare.csv", today().year());
                println!("  lagesbild links --round lagesbild-{} --out lankar.csv", today().year());
            }
            app.run().await?;
            Ok(())
        }
        Command::Round(RoundCommand::Create { survey, year, opens, closes, key, title, disclosure_threshold }) => {
            let store = Store::connect(&settings.database_url).await?;
            let new = NewRound { survey_id: survey, year, opens, closes, key, title, disclosure_threshold };
            let round = create_round(&settings, &store, new).await?;
            store.audit(&Entry::command_line("skapade omgången").round(&round.key)).await?;
            println!(
                "Skapade omgången {} ({}), öppen {} – {}.",
                round.key,
                round.title,
                swedish_date(round.opens_on),
                swedish_date(round.closes_on)
            );
            Ok(())
        }
        Command::Round(RoundCommand::List) => {
            let store = Store::connect(&settings.database_url).await?;
            let rounds = store.rounds().await?;
            if rounds.is_empty() {
                println!("Inga omgångar ännu. Skapa en med `lagesbild round create`.");
            }
            for r in rounds {
                let share = if r.recipients > 0 { 100.0 * r.submitted as f64 / r.recipients as f64 } else { 0.0 };
                println!(
                    "{}\t{}\t{} – {}\t{:?}\t{} mottagare\t{} svar ({share:.0} %)",
                    r.round.key,
                    r.round.survey_id,
                    r.round.opens_on,
                    r.round.closes_on,
                    r.round.phase(today()),
                    r.recipients,
                    r.submitted
                );
            }
            Ok(())
        }
        Command::Round(RoundCommand::Status { round }) => {
            let store = Store::connect(&settings.database_url).await?;
            mail_commands::status(&store, &round).await
        }
        Command::Round(RoundCommand::Mail {
            round,
            invitation_subject,
            invitation_text,
            reminder_subject,
            reminder_text,
            contact,
            reminders,
        }) => {
            let store = Store::connect(&settings.database_url).await?;
            let changes = MailChanges {
                invitation_subject,
                invitation_text,
                reminder_subject,
                reminder_text,
                contact,
                reminders,
            };
            mail_commands::round_mail(&settings, &mail, &store, &round, changes).await
        }
        Command::User(command) => user(&settings, command).await,
        Command::Invite { round } => {
            let store = Store::connect(&settings.database_url).await?;
            mail_commands::invite(&store, &round).await
        }
        Command::Remind { round } => {
            let store = Store::connect(&settings.database_url).await?;
            mail_commands::remind(&store, &mail, &round).await
        }
        Command::Send { round, no_wait, retry_failed, resend_uncertain } => {
            let store = Store::connect(&settings.database_url).await?;
            mail_commands::send(&settings, &mail, &store, round.as_deref(), !no_wait, retry_failed, resend_uncertain)
                .await
        }
        Command::Roster(RosterCommand::Import { round, file }) => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows = parse_roster(&round, &bytes).map_err(|problems| {
                anyhow::anyhow!(
                    "{}: inget importerades, {} rad(er) har fel:\n{}",
                    file.display(),
                    problems.len(),
                    problems.join("\n")
                )
            })?;
            let bar = progress(rows.len() as u64, "importerar");
            let outcome = store.import_roster(round.id, &rows, &|n| bar.set_position(n.min(rows.len()) as u64)).await?;
            bar.finish_and_clear();
            store
                .audit(
                    &Entry::command_line("importerade mottagare").round(&round.key).recipients(outcome.added).detail(
                        format!("{}: {} nya, {} fanns redan", file.display(), outcome.added, outcome.already_present),
                    ),
                )
                .await?;
            println!("{}: {} nya mottagare, {} fanns redan.", round.key, outcome.added, outcome.already_present);
            Ok(())
        }
        Command::Export(ExportCommand::Responses { round, dialect, labels, out }) => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            let bar = ProgressBar::new_spinner();
            let n =
                analysis::export_responses(&store, &round, dialect, labels, output(&out)?, &|n| bar.set_position(n))
                    .await?;
            bar.finish_and_clear();
            if let Some(p) = out {
                eprintln!("Skrev {n} svar till {}.", p.display());
            }
            Ok(())
        }
        Command::Export(ExportCommand::Tallies { round, dialect, out }) => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            let n = analysis::export_tallies(&store, &round, dialect, output(&out)?).await?;
            if let Some(p) = out {
                eprintln!("Skrev {n} siffror till {}.", p.display());
            }
            Ok(())
        }
        Command::Export(ExportCommand::Trend { survey, dialect, out }) => {
            let store = Store::connect(&settings.database_url).await?;
            let n = analysis::export_trend(&store, &survey, dialect, output(&out)?).await?;
            if let Some(p) = out {
                eprintln!("Skrev {n} siffror till {}.", p.display());
            }
            Ok(())
        }
        Command::History(HistoryCommand::Import { survey, file }) => {
            let store = Store::connect(&settings.database_url).await?;
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let figures = analysis::parse_tallies_csv(&bytes).map_err(|p| {
                let lines: Vec<String> = p.iter().map(ToString::to_string).collect();
                anyhow::anyhow!(
                    "{}: inget importerades, {} rad(er) har fel:\n{}",
                    file.display(),
                    p.len(),
                    lines.join("\n")
                )
            })?;
            let mut years: Vec<i64> = figures.iter().map(|f| f.year).collect();
            years.sort();
            years.dedup();
            let n = store.import_history(&survey, &figures).await?;
            println!(
                "{survey}: {n} siffror för {} importerade.",
                years.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            );
            Ok(())
        }
        Command::Charts { round, out } => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let charts = analysis::charts(&store, &round).await?;
            for chart in &charts {
                let base = out.join(chart.name);
                std::fs::write(base.with_extension("png"), crate::chart::png(chart)?)?;
                std::fs::write(base.with_extension("svg"), crate::chart::svg(chart)?)?;
            }
            println!("Skrev {} diagram (PNG och SVG) till {}.", charts.len(), out.display());
            Ok(())
        }
        Command::Report { round, format, out } => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            let (text, charts) = analysis::report(&store, &round, &settings.templates_dir, format).await?;
            let mut sink = output(&out)?;
            sink.write_all(text.as_bytes())?;
            sink.flush()?;
            if let Some(path) = &out {
                // Markdown refers to its charts by file name: they go beside it.
                if format == crate::report::Format::Markdown {
                    let dir = path.parent().unwrap_or(std::path::Path::new("."));
                    for (chart, png) in &charts {
                        std::fs::write(dir.join(format!("{}.png", chart.name)), png)?;
                    }
                }
                eprintln!("Skrev {}.", path.display());
            }
            Ok(())
        }
        Command::Links { round, pending, out } => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            let links = store.mint_links(round.id, pending).await?;
            store
                .audit(
                    &Entry::command_line("laddade ner personliga länkar")
                        .round(&round.key)
                        .recipients(links.len())
                        .detail(if pending { "bara de som inte har svarat" } else { "alla mottagare" }),
                )
                .await?;
            crate::admin::write_links(output(&out)?, &links, |token| settings.link(token))?;
            if let Some(path) = out {
                eprintln!("Skrev {} personliga länkar till {}.", links.len(), path.display());
            }
            Ok(())
        }
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

async fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    let store = Store::connect(&settings.database_url).await?;
    let link = |token: &str| format!("{}/admin/losenord/{token}", settings.base_url.trim_end_matches('/'));
    match command {
        UserCommand::Add { role, email } => {
            let (account, token) = store.create_account(&email, role).await?;
            store
                .audit(&Entry::command_line("lade till konto").detail(format!(
                    "{} ({})",
                    account.email,
                    role.swedish()
                )))
                .await?;
            println!(
                "Kontot {} ({}) är skapat. Lösenordet väljs på den här länken, som fungerar en gång och i {} dagar:",
                account.email,
                role.swedish(),
                crate::account::PASSWORD_LINK_DAYS
            );
            println!("  {}", link(&token));
        }
        UserCommand::Link { email } => {
            let account =
                store.account_by_email(&email).await?.with_context(|| format!("there is no account for {email}"))?;
            let token = store.new_password_link(account.id).await?;
            store.audit(&Entry::command_line("skapade lösenordslänk").detail(account.email.clone())).await?;
            println!("Ny lösenordslänk för {} (tidigare länkar slutar fungera):", account.email);
            println!("  {}", link(&token));
        }
        UserCommand::List => {
            for a in store.accounts().await? {
                let status = if a.disabled {
                    "avstängt"
                } else if a.has_password {
                    "aktivt"
                } else {
                    "inget lösenord än"
                };
                println!("{}\t{}\t{status}", a.email, a.role.swedish());
            }
        }
    }
    Ok(())
}

fn check(files: &[PathBuf]) -> anyhow::Result<()> {
    if files.is_empty() {
        bail!("name at least one survey file, for example `lagesbild survey check surveys/lagesbild.toml`");
    }
    let mut failed = 0;
    for f in files {
        match survey::check_file(f) {
            Ok(s) => {
                let questions = s.questions().count();
                let conditional = s.questions().filter(|q| q.shown_when.is_some()).count();
                println!(
                    "{}: ok: survey `{}`, {} sections, {questions} questions ({conditional} conditional), {} pages",
                    f.display(),
                    s.id,
                    s.sections.len(),
                    s.steps.len()
                );
            }
            Err(problems) => {
                failed += 1;
                for p in problems {
                    eprintln!("{p}");
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files have problems", files.len());
    }
    Ok(())
}

/// A round to try the form with: open from today for 30 days, three test recipients.
async fn demo_round(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    let round = match store.round("demo").await? {
        Some(r) => r,
        None => {
            let end = today().saturating_add(jiff::Span::new().days(30));
            let new = NewRound {
                survey_id: "lagesbild".into(),
                year: today().year(),
                opens: today(),
                closes: end,
                key: Some("demo".into()),
                title: Some("Lägesbild – provomgång".into()),
                disclosure_threshold: None,
            };
            create_round(settings, store, new).await?
        }
    };
    let demo = "email,name,organisation,group,category\n\
                forskolan.demo@example.se,Test Testsson,Förskolan Demo,intern,forskola\n\
                forening.demo@example.se,,Föreningen Demo,extern,forening\n\
                trafik.demo@example.se,,Trafikkontoret,fackforvaltning,trafik\n";
    let rows = parse_roster(&round, demo.as_bytes()).map_err(|p| anyhow::anyhow!(p.join("\n")))?;
    store.import_roster(round.id, &rows, &|_| {}).await?;
    println!("Provomgången `demo` är öppen. Personliga länkar (nya varje start, de gamla fungerar också):");
    for (email, token) in store.mint_tokens(round.id, true).await? {
        println!("  {email}: {}", settings.link(&token));
    }
    demo_accounts(settings, store).await
}

/// A coordinator and an analyst to try the admin pages with: each gets a link to choose a
/// password until one is chosen.
async fn demo_accounts(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    use crate::account::Role;
    let base = settings.base_url.trim_end_matches('/');
    println!("Administrationen: {base}/admin/");
    for (email, role) in [("samordnare@example.se", Role::Coordinator), ("analytiker@example.se", Role::Analyst)] {
        let token = match store.account_by_email(email).await? {
            Some(a) if a.has_password => {
                println!("  {} ({}): logga in med lösenordet du valde", email, role.swedish());
                continue;
            }
            Some(a) => store.new_password_link(a.id).await?,
            None => store.create_account(email, role).await?.1,
        };
        println!("  {} ({}): välj lösenord på {base}/admin/losenord/{token}", email, role.swedish());
    }
    Ok(())
}

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}}")).expect("valid template"));
    bar
}
