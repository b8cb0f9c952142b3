//! The versions module (ocpi-2.2.1.md §3.1): `GET /ocpi/versions` lists 2.2.1, `GET
//! /ocpi/2.2.1` lists every interface of [`MODULES`](super::MODULES) with its role. Both take
//! every token we know (token A, a handshake token, a registered token); no routing headers
//! (configuration module, §1.4).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::transport::{Reply, respond};
use super::{Access, MODULES};
use crate::node::NodeState;
use crate::ocpi::v221::versions::V221;

/// `GET /ocpi/versions`.
pub async fn list(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    respond(
        state
            .ocpi
            .authenticate(&req, &state.registry, Access::Configuration)
            .map(|_| Reply::ok(&json!([{"version": V221, "url": state.ocpi.details_url()}]))),
    )
}

/// `GET /ocpi/2.2.1`.
pub async fn details(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    respond(
        state
            .ocpi
            .authenticate(&req, &state.registry, Access::Configuration)
            .map(|_| {
                let endpoints: Vec<serde_json::Value> = MODULES
                    .iter()
                    .map(|m| {
                        json!({
                            "identifier": m.identifier,
                            "role": m.role.as_str(),
                            "url": state.ocpi.module_url(m.path),
                        })
                    })
                    .collect();
                Reply::ok(&json!({"version": V221, "endpoints": endpoints}))
            }),
    )
}
