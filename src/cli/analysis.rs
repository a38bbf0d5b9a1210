//! `survey check`, the exports, `history import`, `charts` and `report`.

use super::{ExportCommand, output};
use crate::analysis;
use crate::config::Settings;
use crate::coordinator::find_round;
use crate::store::Store;
use crate::survey;
use anyhow::{Context, bail};
use indicatif::ProgressBar;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn check(files: &[PathBuf]) -> anyhow::Result<()> {
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

pub async fn export(store: &Store, command: ExportCommand) -> anyhow::Result<()> {
    match command {
        ExportCommand::Responses { round, dialect, labels, out } => {
            let round = find_round(store, &round).await?;
            let bar = ProgressBar::new_spinner();
            let n = analysis::export_responses(store, &round, dialect, labels, output(&out)?, &|n| bar.set_position(n))
                .await?;
            bar.finish_and_clear();
            if let Some(p) = out {
                eprintln!("Skrev {n} svar till {}.", p.display());
            }
        }
        ExportCommand::Tallies { round, dialect, out } => {
            let round = find_round(store, &round).await?;
            let n = analysis::export_tallies(store, &round, dialect, output(&out)?).await?;
            if let Some(p) = out {
                eprintln!("Skrev {n} siffror till {}.", p.display());
            }
        }
        ExportCommand::Trend { survey, dialect, out } => {
            let n = analysis::export_trend(store, &survey, dialect, output(&out)?).await?;
            if let Some(p) = out {
                eprintln!("Skrev {n} siffror till {}.", p.display());
            }
        }
    }
    Ok(())
}

pub async fn import_history(store: &Store, survey: &str, file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let figures = analysis::parse_tallies_csv(&bytes).map_err(|p| {
        let lines: Vec<String> = p.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}: inget importerades, {} rad(er) har fel:\n{}", file.display(), p.len(), lines.join("\n"))
    })?;
    let mut years: Vec<i64> = figures.iter().map(|f| f.year).collect();
    years.sort();
    years.dedup();
    let mut tx = store.begin().await?;
    let n = tx.import_history(survey, &figures).await?;
    tx.commit().await?;
    println!(
        "{survey}: {n} siffror för {} importerade.",
        years.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

pub async fn disclosure_check(store: &Store, key: &str) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let audit = analysis::disclosure_audit(store, &round).await?;
    println!("Röjandekontroll av {} (minsta redovisade grupp {}):", round.key, round.disclosure_threshold);
    for finding in &audit.findings {
        println!("  FYND: {finding}");
    }
    println!("{}", audit.summary());
    anyhow::ensure!(audit.passed(), "the disclosure check found {} problems in {}", audit.findings.len(), round.key);
    Ok(())
}

pub async fn charts(store: &Store, key: &str, out: &Path) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let charts = analysis::charts(store, &round).await?;
    for chart in &charts {
        let base = out.join(chart.name);
        std::fs::write(base.with_extension("png"), crate::chart::png(chart)?)?;
        std::fs::write(base.with_extension("svg"), crate::chart::svg(chart, crate::chart::WIDTH)?)?;
    }
    println!("Skrev {} diagram (PNG och SVG) till {}.", charts.len(), out.display());
    Ok(())
}

pub async fn report(
    settings: &Settings,
    store: &Store,
    key: &str,
    format: crate::report::Format,
    out: &Option<PathBuf>,
) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    if format == crate::report::Format::Docx && out.is_none() {
        bail!("a Word document is not text: name a file with --out, for example --out lagesbild.docx");
    }
    let (bytes, charts) = analysis::report(store, &round, &settings.templates()?, format).await?;
    let mut sink = output(out)?;
    sink.write_all(&bytes)?;
    sink.flush()?;
    if let Some(path) = out {
        // Markdown refers to its charts by file name: they go beside it.
        if format == crate::report::Format::Markdown {
            let dir = path.parent().unwrap_or(Path::new("."));
            for (chart, png) in &charts {
                std::fs::write(dir.join(format!("{}.png", chart.name)), png)?;
            }
        }
        eprintln!("Skrev {}.", path.display());
    }
    Ok(())
}
