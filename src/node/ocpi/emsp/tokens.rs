//! Tokens SENDER (ocpi-2.2.1.md §4.5): `GET tokens` lists the addressed own EMSP's Tokens,
//! made from the authentication data its backend pushed over OICP
//! (`eRoamingPushAuthenticationData`, stored by the node) with `mapping::token`.
//!
//! # Decisions
//! * A Token's `last_updated` is the time its record was last pushed, so `date_from` /
//!   `date_to` select what changed (§1.11); `issuer` is the party's configured name.
//! * Records removed by a `delete` or `fullLoad` push are gone from the store and are not
//!   listed (the spec asks for `valid: false` instead; the store keeps no tombstones of
//!   authentication data).
//! * Paging follows `pagination` (server cap `[ocpi] page_limit`); a record that does not
//!   map is left out of its page (logged), so a page may hold fewer than `limit` Tokens.

use actix_web::{HttpRequest, HttpResponse, web};

use super::client;
use crate::config::PartnerId;
use crate::mapping::token::{TokenCtx, provider_auth_data_to_tokens};
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::pagination::{PageRequest, page_reply};
use crate::node::ocpi::transport::respond;
use crate::ocpi::v221::tokens::Token;
use crate::oicp::v23::auth_data::{AuthenticationDataRecord, ProviderAuthenticationData};

/// Adds the Tokens SENDER list.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/tokens", "/tokens/"]).route(web::get().to(list)));
    super::authorize::configure(cfg);
}

/// Tokens of stored records `(json, updated_at)` of `provider` (pure).
pub fn tokens_of(
    provider: &crate::oicp::v23::ids::ProviderId,
    records: &[(String, i64)],
    issuer: &str,
) -> Vec<Token> {
    let mut out = Vec::new();
    for (json, at) in records {
        let Ok(record) = serde_json::from_str::<AuthenticationDataRecord>(json) else {
            tracing::warn!("stored authentication data record does not parse");
            continue;
        };
        let Some(now) = chrono::DateTime::from_timestamp_millis(*at) else {
            continue;
        };
        let data = ProviderAuthenticationData {
            provider_id: provider.clone(),
            authentication_data_record: vec![record],
            extra: crate::oicp::v23::wire::Extra::new(),
        };
        match provider_auth_data_to_tokens(&data, true, &TokenCtx::new(now).with_issuer(issuer)) {
            Ok(m) => out.extend(m.value),
            Err(e) => {
                tracing::warn!(path = %e.path, error = %e.reason, "authentication data record not listed as a Token");
            }
        }
    }
    out
}

async fn list(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    let result = async {
        let client = client(&req, &state)?;
        let PartnerId::Provider(provider) = &client.own.id else {
            return Err(OcpiError::Internal(
                "the addressed eMSP is no EMP".to_owned(),
            ));
        };
        let page = PageRequest::parse(req.query_string(), state.ocpi.page_limit())?;
        let window = (
            page.date_from.map(|d| d.timestamp_millis()),
            page.date_to.map(|d| d.timestamp_millis()),
        );
        let stored = state
            .store
            .auth_data_page(provider, window, page.offset, page.limit)
            .await?;
        let tokens = tokens_of(provider, &stored.records, &client.own.name);
        Ok(page_reply(
            &state.ocpi.module_url("tokens"),
            &page,
            &tokens,
            stored.total,
        )
        .routing(&client.routing.reversed()))
    }
    .await;
    respond(result)
}
