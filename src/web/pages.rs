//! Rendering pages from the handlebars templates in `templates/`.

use super::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use anyhow::Context;
use handlebars::Handlebars;
use serde_json::{Value, json};

pub struct Pages {
    hbs: Handlebars<'static>,
    stylesheet: String,
}

impl Pages {
    /// Registers every `*.hbs` template (names without the extension), each also as a
    /// partial, since the pages wrap themselves in `layout`.
    pub fn load(templates: &crate::shipped::Files) -> anyhow::Result<Pages> {
        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(false);
        hbs.register_escape_fn(handlebars::html_escape);
        for (name, source, origin) in templates.ending_with(".hbs") {
            let name = name.trim_end_matches(".hbs");
            hbs.register_template_string(name, source).with_context(|| format!("template {origin}"))?;
            hbs.register_partial(name, source).with_context(|| format!("template {origin}"))?;
        }
        let stylesheet = templates.text("lagesbild.css")?.to_string();
        Ok(Pages { hbs, stylesheet })
    }

    /// Renders a page from its data, which the template engine takes over as it is (passing
    /// a reference would have it copy the whole tree first).
    pub fn render(&self, template: &str, data: Value) -> anyhow::Result<String> {
        self.hbs
            .render_with_context(template, &handlebars::Context::from(data))
            .with_context(|| format!("rendering {template}"))
    }

    /// A page as an HTTP response; a template failure becomes a plain 500 and a log line.
    pub fn respond(&self, status: StatusCode, template: &str, data: Value) -> HttpResponse {
        match self.render(template, data) {
            Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html),
            Err(e) => {
                tracing::error!("{e:#}");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("Ett fel uppstod. Försök igen om en stund.")
            }
        }
    }

    /// A short page with a heading and a message, for errors and notices.
    pub fn message(&self, status: StatusCode, heading: &str, text: &str) -> HttpResponse {
        self.respond(status, "message", json!({ "heading": heading, "text": text }))
    }
}

pub async fn home(state: web::Data<AppState>) -> HttpResponse {
    state.pages.respond(StatusCode::OK, "home", json!({}))
}

pub async fn stylesheet(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(state.pages.stylesheet.clone())
}

pub async fn not_found(state: web::Data<AppState>) -> HttpResponse {
    state.pages.message(
        StatusCode::NOT_FOUND,
        "Sidan finns inte",
        "Kontrollera adressen. Om du ska svara på en enkät: använd länken i e-postmeddelandet du fått.",
    )
}

/// The accessibility statement (`/tillganglighet`), linked from every page's footer.
pub async fn accessibility(state: web::Data<AppState>) -> Result<HttpResponse, actix_web::Error> {
    let statement = state.store.accessibility_statement().await.map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(state.pages.respond(StatusCode::OK, "accessibility", statement_view(statement.as_ref())))
}

/// The statement's data for its page: the district's parts, and what the service says of itself.
pub fn statement_view(statement: Option<&crate::statement::Statement>) -> Value {
    match statement {
        Some(s) => json!({
            "filled": true,
            "organisation": s.organisation,
            "contact": s.contact,
            "reviewed_on": s.reviewed_on.parse::<jiff::civil::Date>().map(crate::round::swedish_date).unwrap_or_default(),
            "shortcomings": s.shortcomings(),
            "compliance": s.compliance(),
        }),
        None => json!({ "filled": false, "shortcomings": [] }),
    }
}

/// The whole questionnaire of a round on one page, for reading before answering and for
/// printing (`/enkat/{round}/utskrift`). It holds the questions only, nothing of anyone's answers.
pub async fn printable(state: web::Data<AppState>, key: web::Path<String>) -> Result<HttpResponse, actix_web::Error> {
    let internal = actix_web::error::ErrorInternalServerError;
    let Some(round) = state.store.round(&key).await.map_err(internal)? else {
        return Ok(not_found(state).await);
    };
    // Only while the round can be answered: before it opens its questions may still change,
    // and afterwards nobody needs them here.
    if round.phase(crate::round::today()) != crate::round::Phase::Open {
        return Ok(not_found(state).await);
    }
    let survey = state.survey(round.id).await.map_err(internal)?;
    let printed = crate::survey::printed::printed(&survey, &round.title);
    let data = json!({
        "printed": printed,
        "title": round.title,
        "closes_on": crate::round::swedish_date(round.closes_on),
    });
    Ok(state.pages.respond(StatusCode::OK, "print", data))
}
