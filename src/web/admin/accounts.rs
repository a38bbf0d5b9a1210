//! Accounts (added, disabled and re-enabled by coordinators) and the audit log.

use super::{AdminError, CheckedForm, Coordinator, Page, Signed, SignedAs, see_other};
use crate::account::Role;
use crate::coordinator;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::json;

async fn accounts_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    new_link: Option<serde_json::Value>,
    error: Option<String>,
    email: &str,
) -> Page {
    let accounts = state.store.accounts().await?;
    let data = json!({
        "accounts": accounts.iter().map(|a| json!({
            "id": a.id, "email": a.email, "role": a.role.swedish(), "disabled": a.disabled,
            "has_password": a.has_password, "me": a.id == signed.account.id,
        })).collect::<Vec<_>>(),
        "new_link": new_link,
        "error": error,
        "email": email,
        "link_days": crate::account::PASSWORD_LINK_DAYS,
    });
    Ok(signed.page(state, status, "admin/accounts", data))
}

pub async fn list(state: web::Data<AppState>, me: SignedAs<Coordinator>) -> Page {
    accounts_page(&state, &me.signed, StatusCode::OK, None, None, "").await
}

pub async fn add(state: web::Data<AppState>, me: SignedAs<Coordinator>, form: CheckedForm) -> Page {
    let signed = &me.signed;
    let email = form.field("email");
    let refused =
        |text: String| accounts_page(&state, signed, StatusCode::UNPROCESSABLE_ENTITY, None, Some(text), email);
    let Some(role) = Role::parse(form.field("role")) else {
        return refused("Välj en roll: samordnare eller analytiker.".into()).await;
    };
    match coordinator::add_account(&state.store, &signed.actor(), email, role).await {
        Ok((account, token)) => {
            let link = json!({ "email": account.email, "link": state.password_link(&token) });
            accounts_page(&state, signed, StatusCode::OK, Some(link), None, "").await
        }
        Err(e @ coordinator::Error::Technical(_)) => Err(e.into()),
        Err(e) => refused(format!("Kontot lades inte till: {e}")).await,
    }
}

pub async fn change(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<(i64, String)>,
    _form: CheckedForm,
) -> Page {
    let signed = &me.signed;
    let (id, change) = path.into_inner();
    let account = state.store.account(id).await?.ok_or(AdminError::NotFound)?;
    match change.as_str() {
        "stang-av" | "aktivera" => {
            let disable = change == "stang-av";
            match coordinator::set_account_disabled(&state.store, &signed.actor(), id, disable).await {
                Ok(_) => signed.flash(format!(
                    "{} {}.",
                    account.email,
                    if disable { "är avstängt och kan inte logga in" } else { "kan logga in igen" }
                )),
                Err(e @ coordinator::Error::Technical(_)) => return Err(e.into()),
                Err(e) => signed.flash(format!("Inget ändrades: {e}")),
            }
            Ok(see_other("/admin/konton"))
        }
        "ny-lank" => {
            let token = coordinator::new_password_link(&state.store, &signed.actor(), &account).await?;
            let link = json!({ "email": account.email, "link": state.password_link(&token) });
            accounts_page(&state, signed, StatusCode::OK, Some(link), None, "").await
        }
        _ => Err(AdminError::NotFound),
    }
}

pub async fn audit_log(state: web::Data<AppState>, me: SignedAs<Coordinator>) -> Page {
    let signed = me.signed;
    let zone = jiff::tz::TimeZone::get(crate::round::TIME_ZONE)?;
    let entries: Vec<_> = state
        .store
        .audit_log(500)
        .await?
        .into_iter()
        .map(|e| {
            let at = jiff::Timestamp::from_second(e.at)
                .map(|t| t.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            json!({ "at": at, "actor": e.actor, "action": e.action, "round": e.round_key, "recipients": e.recipients, "detail": e.detail })
        })
        .collect();
    signed.ok(&state, "admin/audit", json!({ "entries": entries }))
}

/// The district's part of the accessibility statement, as a form.
pub async fn statement_form(state: web::Data<AppState>, me: SignedAs<Coordinator>) -> Page {
    let values = match state.store.accessibility_statement().await? {
        Some(s) => json!(s),
        None => json!({ "reviewed_on": crate::round::today().to_string() }),
    };
    Ok(me.signed.page(&state, StatusCode::OK, "admin/accessibility", json!({ "values": values })))
}

pub async fn save_statement(state: web::Data<AppState>, me: SignedAs<Coordinator>, form: CheckedForm) -> Page {
    let signed = &me.signed;
    let parsed = crate::statement::Statement::parse(
        form.field("organisation"),
        form.field("contact"),
        form.field("reviewed_on"),
        form.field("shortcomings"),
    );
    match parsed {
        Ok(statement) => {
            coordinator::save_accessibility_statement(&state.store, &signed.actor(), &statement).await?;
            signed.flash("Tillgänglighetsredogörelsen är sparad.");
            Ok(see_other("/admin/tillganglighet"))
        }
        Err(problems) => Ok(signed.page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "admin/accessibility",
            super::refused_form(&problems, json!(form.fields())),
        )),
    }
}
