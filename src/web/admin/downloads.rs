//! The analysis downloads: responses and tallies as CSV, the trend, the charts and the draft
//! of the Lokal lägesbild section.
//!
//! Who may take what: the responses file (one row per response, with group and category) is
//! for analysts only. Coordinators see who has answered, so with the responses they could
//! tell what a small unit answered; analysts never see the roster. Tallies, charts and the
//! report are disclosure-controlled and open to both roles, to coordinators once the round
//! has closed (`Figures`).

use super::{Analyst, Figures, Page, RoundFor, round_view};
use crate::analysis;
use crate::export::Dialect;
use crate::report::Format;
use crate::web::AppState;
use actix_web::body::SizedStream;
use actix_web::{HttpResponse, web};
use serde_json::json;
use std::io::{Seek, Write};

#[derive(serde::Deserialize)]
pub struct DialectQuery {
    dialekt: Option<String>,
    etiketter: Option<String>,
}

impl DialectQuery {
    fn dialect(&self) -> Dialect {
        if self.dialekt.as_deref() == Some("excel") { Dialect::Excel } else { Dialect::Plain }
    }

    fn suffix(&self) -> &'static str {
        if self.dialect() == Dialect::Excel { "-excel" } else { "" }
    }
}

fn attachment(content_type: &str, file_name: &str) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.content_type(content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{file_name}\"")));
    res
}

pub async fn page(state: web::Data<AppState>, access: RoundFor<Figures>) -> Page {
    let RoundFor { round, signed, .. } = access;
    let submitted = state.store.submitted_count(round.id).await?;
    let too_few = (submitted as u64) < round.disclosure_threshold;
    // Below the threshold every chart would be empty: none is offered.
    let charts: Vec<_> = if too_few {
        Vec::new()
    } else {
        analysis::charts(&state.store, &round)
            .await?
            .iter()
            .map(|c| {
                let (head, rows) = c.table();
                json!({ "name": c.name, "title": c.title, "note": c.note, "alt": c.finding(), "head": head, "rows": rows })
            })
            .collect()
    };
    let audit = analysis::disclosure_audit(&state.store, &round).await?;
    let data = json!({
        "round": round_view(&round),
        "audit": { "passed": audit.passed(), "summary": audit.summary(), "findings": audit.findings },
        "charts": charts,
        "submitted": submitted,
        "too_few": too_few,
    });
    signed.ok(&state, "admin/analysis", data)
}

/// Every response as a row. Written to a temporary file first and then sent with its size:
/// memory stays flat however large the round, and a failure midway is an error page rather
/// than a file that silently ends too early.
pub async fn responses(state: web::Data<AppState>, access: RoundFor<Analyst>, query: web::Query<DialectQuery>) -> Page {
    let RoundFor { round, signed, .. } = access;
    let labels = query.etiketter.as_deref() == Some("1");
    let mut file = std::io::BufWriter::new(tempfile::tempfile()?);
    let n = analysis::export_responses(&state.store, &round, query.dialect(), labels, &mut file, &|_| {}).await?;
    file.flush()?;
    let mut file = file.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    let size = file.stream_position()?;
    file.rewind()?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let entry = crate::audit::Entry::new(&signed.account.email, "laddade ner svaren");
    state.store.audit(&entry.round(&round.key).detail(format!("{n} svar"))).await?;
    Ok(attachment("text/csv; charset=utf-8", &format!("svar-{}{}.csv", round.key, query.suffix()))
        .body(SizedStream::new(size, stream)))
}

pub async fn tallies(state: web::Data<AppState>, access: RoundFor<Figures>, query: web::Query<DialectQuery>) -> Page {
    let round = access.round;
    let mut body = Vec::new();
    analysis::export_tallies(&state.store, &round, query.dialect(), &mut body).await?;
    Ok(attachment("text/csv; charset=utf-8", &format!("siffror-{}{}.csv", round.key, query.suffix())).body(body))
}

pub async fn trend(state: web::Data<AppState>, access: RoundFor<Figures>, query: web::Query<DialectQuery>) -> Page {
    let round = access.round;
    let mut body = Vec::new();
    analysis::export_trend(&state.store, &round.survey_id, query.dialect(), &mut body).await?;
    Ok(attachment("text/csv; charset=utf-8", &format!("trend-{}{}.csv", round.survey_id, query.suffix())).body(body))
}

pub async fn chart(state: web::Data<AppState>, access: RoundFor<Figures>, path: web::Path<(String, String)>) -> Page {
    let round = access.round;
    let (_, file) = path.into_inner();
    let (name, extension) = file.rsplit_once('.').unwrap_or((&file, ""));
    // `<name>.skarm.svg`: drawn for the pages, narrower, so that its text stays readable on a phone.
    let (name, width) = match name.strip_suffix(".skarm") {
        Some(name) => (name, crate::chart::SCREEN_WIDTH),
        None => (name, crate::chart::WIDTH),
    };
    let charts = analysis::charts(&state.store, &round).await?;
    let Some(chart) = charts.iter().find(|c| c.name == name) else {
        return Ok(crate::web::pages::not_found(state).await);
    };
    Ok(match extension {
        "png" => attachment("image/png", &file).body(crate::chart::png(chart)?),
        "svg" => attachment("image/svg+xml", &file).body(crate::chart::svg(chart, width)?),
        _ => crate::web::pages::not_found(state).await,
    })
}

pub async fn report(state: web::Data<AppState>, access: RoundFor<Figures>, path: web::Path<(String, String)>) -> Page {
    let round = access.round;
    let (_, format) = path.into_inner();
    let Some(format) = [Format::Markdown, Format::Html, Format::Docx].into_iter().find(|f| f.extension() == format)
    else {
        return Ok(crate::web::pages::not_found(state).await);
    };
    let (bytes, _) = analysis::report(&state.store, &round, &state.templates, format).await?;
    let name = format!("lokal-lagesbild-{}.{}", round.key, format.extension());
    Ok(attachment(format.content_type(), &name).body(bytes))
}
