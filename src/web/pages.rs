//! Rendering pages from the handlebars templates in `templates/`.

use super::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use anyhow::Context;
use handlebars::Handlebars;
use serde_json::{Value, json};
use std::path::Path;

pub struct Pages {
    hbs: Handlebars<'static>,
    stylesheet: String,
}

impl Pages {
    /// Loads every `*.hbs` under the folder (names relative to it, without the extension).
    /// `layout` is also registered as a partial that the pages wrap themselves in.
    pub fn load(dir: &Path) -> anyhow::Result<Pages> {
        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(false);
        hbs.register_escape_fn(handlebars::html_escape);
        let mut stack = vec![dir.to_path_buf()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder)
                .with_context(|| format!("cannot read the templates folder {}", folder.display()))?
            {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "hbs") {
                    let name = path.strip_prefix(dir)?.with_extension("").to_string_lossy().replace('\\', "/");
                    let source = std::fs::read_to_string(&path)?;
                    hbs.register_template_string(&name, &source)
                        .with_context(|| format!("template {}", path.display()))?;
                    hbs.register_partial(&name, source).with_context(|| format!("template {}", path.display()))?;
                }
            }
        }
        let stylesheet =
            std::fs::read_to_string(dir.join("lagesbild.css")).context("templates/lagesbild.css is missing")?;
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
