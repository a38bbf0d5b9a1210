//! Accounts (added, disabled and re-enabled by coordinators) and the audit log.

use super::{Page, Posted, Signed, field, forbidden, see_other};
use crate::account::Role;
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

pub async fn list(state: web::Data<AppState>, signed: Signed) -> Page {
    if !signed.is(Role::Coordinator) {
        return Ok(forbidden(&state, &signed));
    }
    accounts_page(&state, &signed, StatusCode::OK, None, None, "").await
}

pub async fn add(state: web::Data<AppState>, signed: Signed, form: Posted) -> Page {
    if !signed.is(Role::Coordinator) {
        return Ok(forbidden(&state, &signed));
    }
    if !signed.csrf_ok(field(&form, "csrf")) {
        return Ok(signed.csrf_refused(&state));
    }
    let email = field(&form, "email");
    let Some(role) = Role::parse(field(&form, "role")) else {
        return accounts_page(
            &state,
            &signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Välj en roll: samordnare eller analytiker.".into()),
            email,
        )
        .await;
    };
    match state.store.create_account(email, role).await {
        Ok((account, token)) => {
            signed
                .audit(
                    &state,
                    signed.entry("lade till konto").detail(format!("{} ({})", account.email, role.swedish())),
                )
                .await?;
            let link = json!({ "email": account.email, "link": state.password_link(&token) });
            accounts_page(&state, &signed, StatusCode::OK, Some(link), None, "").await
        }
        Err(e) => {
            accounts_page(
                &state,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(format!("Kontot lades inte till: {e}.")),
                email,
            )
            .await
        }
    }
}

pub async fn change(state: web::Data<AppState>, signed: Signed, path: web::Path<(i64, String)>, form: Posted) -> Page {
    if !signed.is(Role::Coordinator) {
        return Ok(forbidden(&state, &signed));
    }
    if !signed.csrf_ok(field(&form, "csrf")) {
        return Ok(signed.csrf_refused(&state));
    }
    let (id, change) = path.into_inner();
    let Some(account) = state.store.account(id).await? else {
        return Ok(crate::web::pages::not_found(state).await);
    };
    match change.as_str() {
        "stang-av" | "aktivera" => {
            let disable = change == "stang-av";
            match state.store.set_account_disabled(id, disable).await {
                Ok(_) => {
                    let what = if disable { "stängde av konto" } else { "aktiverade konto" };
                    signed.audit(&state, signed.entry(what).detail(account.email.clone())).await?;
                    signed.flash(format!(
                        "{} {}.",
                        account.email,
                        if disable { "är avstängt och kan inte logga in" } else { "kan logga in igen" }
                    ));
                }
                Err(e) => signed.flash(format!("Inget ändrades: {e}.")),
            }
            Ok(see_other("/admin/konton"))
        }
        "ny-lank" => {
            let token = state.store.new_password_link(id).await?;
            signed.audit(&state, signed.entry("skapade lösenordslänk").detail(account.email.clone())).await?;
            let link = json!({ "email": account.email, "link": state.password_link(&token) });
            accounts_page(&state, &signed, StatusCode::OK, Some(link), None, "").await
        }
        _ => Ok(crate::web::pages::not_found(state).await),
    }
}

pub async fn audit_log(state: web::Data<AppState>, signed: Signed) -> Page {
    if !signed.is(Role::Coordinator) {
        return Ok(forbidden(&state, &signed));
    }
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
