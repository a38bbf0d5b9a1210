//! The command line: the server, and the coordinator's and operator's work without a browser.

use crate::config::{ServeSettings, Settings};
use crate::roster::{self, RosterRow};
use crate::round::{Round, swedish_date, today};
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
#[command(
    name = "lagesbild",
    version,
    about = "Enkätmotor för den lokala lägesbilden om våldsbejakande extremism"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
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
    /// Write a CSV of email and personal link for a round's recipients (for a mail merge).
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
    },
    /// List the rounds with their response counts.
    List,
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

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    let command = cli.command.unwrap_or(Command::Serve {
        serve: ServeSettings::parse_defaults(),
        demo: false,
    });
    match command {
        Command::Survey(SurveyCommand::Check { files }) => check(&files),
        Command::Serve { serve, demo } => {
            let store = Store::connect(&settings.database_url).await?;
            let app = Application::build(settings.clone(), serve.clone(), store.clone()).await?;
            println!(
                "lagesbild lyssnar på http://{} (öppna via {})",
                serve.bind.replace(":0", &format!(":{}", app.port())),
                settings.base_url
            );
            if demo {
                demo_round(&settings, &store).await?;
            } else if store.rounds().await?.is_empty() {
                println!(
                    "Det finns ingen omgång ännu. Prova med `lagesbild serve --demo`, eller skapa en:"
                );
                println!(
                    "  lagesbild round create --survey lagesbild --year {} --opens {} --closes {}",
                    today().year(),
                    today(),
                    today().saturating_add(jiff::Span::new().days(30))
                );
                println!(
                    "  lagesbild roster import --round lagesbild-{} mottagare.csv",
                    today().year()
                );
                println!(
                    "  lagesbild links --round lagesbild-{} --out lankar.csv",
                    today().year()
                );
            }
            app.run().await?;
            Ok(())
        }
        Command::Round(RoundCommand::Create {
            survey,
            year,
            opens,
            closes,
            key,
            title,
        }) => {
            let store = Store::connect(&settings.database_url).await?;
            let round =
                create_round(&settings, &store, &survey, year, opens, closes, key, title).await?;
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
                let share = if r.recipients > 0 {
                    100.0 * r.submitted as f64 / r.recipients as f64
                } else {
                    0.0
                };
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
        Command::Roster(RosterCommand::Import { round, file }) => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows = parse_roster(&round, &bytes).map_err(|problems| {
                anyhow::anyhow!(
                    "{}: inget importerades, {} rad(er) har fel:\n{}",
                    file.display(),
                    problems.len(),
                    problems.join("\n")
                )
            })?;
            let bar = progress(rows.len() as u64, "importerar");
            let outcome = store
                .import_roster(round.id, &rows, &|n| {
                    bar.set_position(n.min(rows.len()) as u64)
                })
                .await?;
            bar.finish_and_clear();
            println!(
                "{}: {} nya mottagare, {} fanns redan.",
                round.key, outcome.added, outcome.already_present
            );
            Ok(())
        }
        Command::Links {
            round,
            pending,
            out,
        } => {
            let store = Store::connect(&settings.database_url).await?;
            let round = find_round(&store, &round).await?;
            let links = store.mint_tokens(round.id, pending).await?;
            let sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut w = csv::Writer::from_writer(sink);
            w.write_record(["email", "link"])?;
            for (email, token) in &links {
                w.write_record([email.as_str(), &settings.link(token)])?;
            }
            w.flush()?;
            if let Some(path) = out {
                eprintln!(
                    "Skrev {} personliga länkar till {}.",
                    links.len(),
                    path.display()
                );
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

fn check(files: &[PathBuf]) -> anyhow::Result<()> {
    if files.is_empty() {
        bail!(
            "name at least one survey file, for example `lagesbild survey check surveys/lagesbild.toml`"
        );
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

fn parse_roster(round: &Round, bytes: &[u8]) -> Result<Vec<RosterRow>, Vec<String>> {
    let survey = survey::parse(&round.definition)
        .map_err(|p| vec![format!("the round's survey definition is broken: {p:?}")])?;
    roster::parse(bytes, &survey).map_err(|p| p.iter().map(ToString::to_string).collect())
}

async fn find_round(store: &Store, key: &str) -> anyhow::Result<Round> {
    match store.round(key).await? {
        Some(r) => Ok(r),
        None => {
            let known: Vec<String> = store
                .rounds()
                .await?
                .into_iter()
                .map(|r| r.round.key)
                .collect();
            bail!(
                "there is no round `{key}` (rounds: {})",
                if known.is_empty() {
                    "none yet".into()
                } else {
                    known.join(", ")
                }
            )
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn create_round(
    settings: &Settings,
    store: &Store,
    survey_id: &str,
    year: i16,
    opens: Date,
    closes: Date,
    key: Option<String>,
    title: Option<String>,
) -> anyhow::Result<Round> {
    let surveys =
        survey::load_dir(&settings.surveys_dir).map_err(|p| anyhow::anyhow!("{}", p.join("\n")))?;
    let Some(def) = surveys.get(survey_id) else {
        bail!(
            "there is no survey `{survey_id}` in {} (surveys: {})",
            settings.surveys_dir.display(),
            surveys.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    if closes < opens {
        bail!("the round would close ({closes}) before it opens ({opens})");
    }
    let key = key.unwrap_or_else(|| format!("{survey_id}-{year}"));
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("the round key `{key}` may only contain letters a-z, digits, - and _");
    }
    let round = Round {
        id: 0,
        key: key.clone(),
        survey_id: survey_id.to_string(),
        title: title.unwrap_or_else(|| format!("{} {year}", def.survey.title)),
        year: year.into(),
        opens_on: opens,
        closes_on: closes,
        definition: def.source.clone(),
    };
    store
        .create_round(&round)
        .await?
        .with_context(|| format!("a round named `{key}` exists already"))
}

/// A round to try the form with: open from today for 30 days, three test recipients.
async fn demo_round(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    let round = match store.round("demo").await? {
        Some(r) => r,
        None => {
            let end = today().saturating_add(jiff::Span::new().days(30));
            create_round(
                settings,
                store,
                "lagesbild",
                today().year(),
                today(),
                end,
                Some("demo".into()),
                Some("Lägesbild – provomgång".into()),
            )
            .await?
        }
    };
    let demo = "email,name,organisation,group,category\n\
                forskolan.demo@example.se,Test Testsson,Förskolan Demo,intern,forskola\n\
                forening.demo@example.se,,Föreningen Demo,extern,forening\n\
                trafik.demo@example.se,,Trafikkontoret,fackforvaltning,trafik\n";
    let rows = parse_roster(&round, demo.as_bytes()).map_err(|p| anyhow::anyhow!(p.join("\n")))?;
    store.import_roster(round.id, &rows, &|_| {}).await?;
    println!(
        "Provomgången `demo` är öppen. Personliga länkar (nya varje start, de gamla fungerar också):"
    );
    for (email, token) in store.mint_tokens(round.id, true).await? {
        println!("  {email}: {}", settings.link(&token));
    }
    Ok(())
}

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}}"))
            .expect("valid template"),
    );
    bar
}
