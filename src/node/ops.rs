//! What the node does with each OICP operation, for each kind of caller.
//!
//! Towards its own parties' backends the node behaves like Hubject; towards peers it behaves
//! like a partner that receives Hubject-forwarded calls (p2p-reference.md §1.2). So every
//! handler first asks who called:
//! * an own party's **backend**: the request is routed out, to the peer(s) or to another own
//!   party on the same node (dual role);
//! * a **peer**: the request is for an own party: answered from the store or forwarded to that
//!   party's backend, never routed on to another peer.
//!
//! `SessionIDs` are minted where Hubject would mint them: on the EMP side (when an EMP node
//! receives `AuthorizeStart` from a CPO, and when an EMP backend sends a remote start or
//! reservation), and whenever an answer arrives without one.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;
use tracing::Span;

use super::NodeState;
use super::failure::Failure;
use super::failure::HasStatus;
use super::routes::RouteNote;
use crate::config::{PartnerId, Role};
use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::auth_data::PushAuthenticationData;
use crate::oicp::v23::authorization::{
    AuthorizationStart, AuthorizationStatus, AuthorizationStop, AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop, AuthorizeRemoteStart, AuthorizeRemoteStop, AuthorizeStart,
    AuthorizeStop,
};
use crate::oicp::v23::cdr::{ChargeDetailRecord, ChargeDetailRecordPage, GetChargeDetailRecords};
use crate::oicp::v23::common::{ActionType, Identification};
use crate::oicp::v23::evse_data::{EvseDataPage, PageCount, PullEvseData, PushEvseData};
use crate::oicp::v23::evse_status::{
    EvseStatusByIdResponse, EvseStatusRecords, EvseStatusResponse, EvseStatuses, PullEvseStatus,
    PullEvseStatusById, PullEvseStatusByOperatorId, PushEvseStatus,
};
use crate::oicp::v23::ids::{EvcoId, EvseId, OperatorId, ProviderId, SessionId};
use crate::oicp::v23::notifications::{ChargingNotification, ChargingNotificationType};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::pricing::{
    EvsePricingResponse, PricingProductDataResponse, PullEvsePricing, PullPricingProductData,
    PushEvsePricing, PushPricingProductData,
};
use crate::oicp::v23::scalars::{Bounded, Int};
use crate::oicp::v23::status::{Code, StatusCode};
use crate::oicp::v23::wire::Extra;
use crate::peer::client::{OicpClient, Target, TargetKind, fill_path};
use crate::peer::registry::{Caller, Registry};
use crate::routing::RouteKind;
use crate::store::{CdrInsert, EvseDataQuery, OutboxEntry, SessionRecord, TargetRef};

/// Default and largest page size of the paged pulls (oicp-2.3.md §5.4).
const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 2000;

/// `page`, `size` and `sort` of a paged pull.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// 0-based page.
    pub page: u32,
    /// Page size (default 20, at most 2000).
    pub size: u32,
    /// Sort field and whether descending.
    pub sort: Option<(String, bool)>,
}

impl PageQuery {
    /// Reads the query string; bad numbers fall back to the defaults.
    pub fn parse(query: &str) -> Self {
        let mut q = Self {
            page: 0,
            size: DEFAULT_PAGE_SIZE,
            sort: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "page" => q.page = v.parse().unwrap_or(0),
                "size" => {
                    q.size = v
                        .parse::<u32>()
                        .map_or(DEFAULT_PAGE_SIZE, |s| s.clamp(1, MAX_PAGE_SIZE));
                }
                "sort" => {
                    let (field, dir) = v.split_once(',').unwrap_or((v.as_str(), "asc"));
                    q.sort = Some((field.to_owned(), dir.eq_ignore_ascii_case("desc")));
                }
                _ => {}
            }
        }
        q
    }
}

/// Decodes `%XX` escapes (path IDs arrive as `DE%2AGEF` from clients that encode `*`).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Everything an operation needs about the request it answers.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Node state.
    pub state: Arc<NodeState>,
    /// This worker's HTTP client.
    pub client: OicpClient,
    /// Who called.
    pub caller: Caller,
    /// The ID in the path, if the operation has one.
    pub path_id: Option<PartnerId>,
    /// Correlation ID.
    pub process_id: String,
    /// Paging of pulls.
    pub page: PageQuery,
    /// The request's span (partner and route are recorded on it).
    pub span: Span,
    /// The partner and route, also kept for the route log.
    pub note: Arc<std::sync::Mutex<RouteNote>>,
}

impl Ctx {
    fn registry(&self) -> &Registry {
        &self.state.registry
    }

    fn called_by_backend(&self) -> bool {
        matches!(self.caller, Caller::Backend(_))
    }

    fn path_operator(&self) -> Result<OperatorId, Failure> {
        match &self.path_id {
            Some(PartnerId::Operator(o)) => Ok(o.clone()),
            _ => Err(Failure::new(
                Code::DataError,
                "the path carries no OperatorID",
            )),
        }
    }

    fn path_provider(&self) -> Result<ProviderId, Failure> {
        match &self.path_id {
            Some(PartnerId::Provider(p)) => Ok(p.clone()),
            _ => Err(Failure::new(
                Code::DataError,
                "the path carries no ProviderID",
            )),
        }
    }

    /// Records where the request went: on the span and in the route log.
    fn note_route(&self, partner: Option<&str>, route: &'static str) {
        if let Some(p) = partner {
            self.span.record("partner", p);
        }
        self.span.record("route", route);
        let mut note = self
            .note
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = partner {
            note.partner = Some(p.to_owned());
        }
        note.route = Some(route);
    }

    fn route(&self, target: &Target) {
        match target.kind {
            TargetKind::Backend => self.note_route(Some(&target.id.to_string()), "local"),
            TargetKind::Peer => self.note_route(Some(&target.id.to_string()), "direct"),
            // A hub target's ID is the own party the call is made for; the caller records the
            // partner the call is for.
            TargetKind::Hub => self.note_route(None, "clearing-house"),
        }
    }

    fn route_local(&self, _what: &str) {
        self.note_route(None, "local");
    }

    /// The clearing house as a target, for calls made on behalf of `own` (whose ID goes into
    /// the path: the hub checks it against our certificate).
    fn hub_target(&self, own: &PartnerId) -> Result<Target, Failure> {
        let hub = self.state.hub.as_ref().ok_or_else(|| {
            Failure::new(Code::ServiceNotAvailable, "no clearing house is configured")
        })?;
        Ok(Target {
            kind: TargetKind::Hub,
            id: own.clone(),
            base_url: hub.base_url().to_owned(),
            token: None,
            timeout: hub.timeout(),
        })
    }

    /// The route rules apply to requests the node routes out (from an own backend) to a
    /// partner that is not an own party; everything else goes directly.
    fn route_for(&self, op: Operation, partner: &PartnerId) -> RouteKind {
        if !self.called_by_backend() || self.registry().party(partner).is_some() {
            return RouteKind::Direct;
        }
        self.state.config.routing.resolve(op, partner).route
    }

    /// Whether the clearing house serves the partners that are not named by a rule (used for
    /// broadcasts, pushes "to all" and merged pulls).
    fn hub_for_others(&self, op: Operation) -> bool {
        self.called_by_backend()
            && self.state.hub.is_some()
            && self.state.config.routing.resolve_canonical(op, "").route != RouteKind::Direct
    }

    /// A synchronous call to `partner` along its configured route (see [`RouteKind`]);
    /// `direct` is the peer or own backend, `path_id` the own party's ID for the path.
    async fn call_routed<Req, Resp>(
        &self,
        op: Operation,
        partner: &PartnerId,
        direct: Result<Target, Failure>,
        path_id: &str,
        body: &Req,
    ) -> Result<Resp, Failure>
    where
        Req: Serialize,
        Resp: serde::de::DeserializeOwned + crate::oicp::v23::validate::Validate + HasStatus,
    {
        let own = self.path_id.clone().ok_or_else(|| {
            Failure::new(Code::SystemError, "routing needs the own party of the path")
        })?;
        match self.route_for(op, partner) {
            RouteKind::Direct => self.call(&direct?, op, path_id, body).await,
            RouteKind::ClearingHouse => {
                let answer = self.call(&self.hub_target(&own)?, op, path_id, body).await;
                self.note_route(Some(&partner.to_string()), "clearing-house");
                answer
            }
            RouteKind::DirectThenClearingHouse => {
                let first = match direct {
                    Ok(target) => Some(self.call::<Req, Resp>(&target, op, path_id, body).await),
                    Err(f) if *f.code() == Code::NoValidContract => None,
                    Err(f) => return Err(f),
                };
                let unanswered = |code: Option<&Code>| {
                    matches!(
                        code,
                        Some(Code::PartnerDidNotRespond | Code::ServiceNotAvailable)
                    )
                };
                match first {
                    Some(Ok(answer)) if !unanswered(answer.code()) => Ok(answer),
                    Some(Err(f)) if !unanswered(Some(f.code())) => Err(f),
                    _ => {
                        let hub = self.hub_target(&own)?;
                        let answer = self.call(&hub, op, path_id, body).await;
                        self.note_route(Some(&partner.to_string()), "clearing-house-fallback");
                        answer
                    }
                }
            }
            RouteKind::Both => {
                // Without a peer for the partner, `both` answers 210 as `direct` does.
                let target = direct?;
                let hub = self.hub_target(&own)?;
                let (peer_answer, hub_answer) = futures_util::future::join(
                    self.call::<Req, Resp>(&target, op, path_id, body),
                    self.call::<Req, Resp>(&hub, op, path_id, body),
                )
                .await;
                match &hub_answer {
                    Err(f) => tracing::warn!(code = %f.code(), "the clearing house copy failed"),
                    Ok(a) => tracing::debug!(code = ?a.code(), "the clearing house took its copy"),
                }
                self.note_route(Some(&partner.to_string()), "both");
                peer_answer
            }
        }
    }

    /// The outbox entries of a message for `partner` along its configured route: the peer
    /// (with the hub as fallback for `direct-then-clearing-house`), the hub, or both. The
    /// caller commits them with its store write (or [`crate::store::Store::enqueue`]).
    fn routed_entries<T: Serialize>(
        &self,
        op: Operation,
        partner: &PartnerId,
        own: &PartnerId,
        direct: Result<Target, Failure>,
        path_id: &str,
        body: &T,
    ) -> Result<Vec<OutboxEntry>, Failure> {
        let bytes = serialize(body)?;
        let hub = || self.hub_target(own);
        let name = partner.to_string();
        let mut entries = Vec::new();
        match self.route_for(op, partner) {
            RouteKind::Direct => {
                let target = direct?;
                self.route(&target);
                entries.push(self.entry(&target, op, path_id, bytes, None));
            }
            RouteKind::ClearingHouse => {
                entries.push(self.entry(&hub()?, op, path_id, bytes, None));
                self.note_route(Some(&name), "clearing-house");
            }
            RouteKind::DirectThenClearingHouse => match direct {
                Ok(target) => {
                    entries.push(self.entry(&target, op, path_id, bytes, Some(&hub()?)));
                    self.note_route(Some(&name), "direct-then-clearing-house");
                }
                Err(f) if *f.code() == Code::NoValidContract => {
                    entries.push(self.entry(&hub()?, op, path_id, bytes, None));
                    self.note_route(Some(&name), "clearing-house-fallback");
                }
                Err(f) => return Err(f),
            },
            RouteKind::Both => {
                if let Ok(target) = direct {
                    entries.push(self.entry(&target, op, path_id, Arc::clone(&bytes), None));
                }
                entries.push(self.entry(&hub()?, op, path_id, bytes, None));
                self.note_route(Some(&name), "both");
            }
        }
        Ok(entries)
    }

    /// The own EMP with this `ProviderID`, or (for a backend caller) the EMP peer.
    fn emp_target(&self, provider: &ProviderId) -> Result<Target, Failure> {
        let id = PartnerId::Provider(provider.clone());
        self.target_for(&id, "e-mobility provider")
    }

    /// The own CPO with this `OperatorID`, or (for a backend caller) the CPO peer.
    fn cpo_target(&self, operator: &OperatorId) -> Result<Target, Failure> {
        let id = PartnerId::Operator(operator.clone());
        self.target_for(&id, "charge point operator")
    }

    fn target_for(&self, id: &PartnerId, what: &str) -> Result<Target, Failure> {
        if let Some(party) = self.registry().party(id) {
            return self.registry().backend_target(party).ok_or_else(|| {
                Failure::new(
                    Code::ServiceNotAvailable,
                    format!("the own {what} {id} has no backend configured"),
                )
            });
        }
        if self.called_by_backend()
            && let Some(peer) = self
                .registry()
                .peer(id)
                .or_else(|| super::ocpi::platform_peer(&self.state, id))
        {
            return Ok(Registry::peer_target(&peer));
        }
        Err(Failure::no_route(format!(
            "no {what} {id} is registered with this node"
        )))
    }

    /// Operators whose data a caller may see: everything for a backend, only the own CPOs'
    /// data for a peer.
    fn visible_operators(&self) -> Option<Vec<OperatorId>> {
        if self.called_by_backend() {
            None
        } else {
            Some(
                self.registry()
                    .own(Role::Cpo)
                    .filter_map(|p| match &p.id {
                        PartnerId::Operator(o) => Some(o.clone()),
                        PartnerId::Provider(_) => None,
                    })
                    .collect(),
            )
        }
    }

    fn require_hosts(&self, role: Role) -> Result<(), Failure> {
        if self.registry().hosts(role) {
            Ok(())
        } else {
            let what = if role == Role::Emp {
                "e-mobility provider"
            } else {
                "charge point operator"
            };
            Err(Failure::no_route(format!("this node hosts no {what}")))
        }
    }

    /// The outbox entry of a serialized body for `target` at `op`'s path (for `id`).
    fn entry(
        &self,
        target: &Target,
        op: Operation,
        id: &str,
        body: Arc<[u8]>,
        fallback: Option<&Target>,
    ) -> OutboxEntry {
        OutboxEntry {
            fallback: fallback.map(TargetRef::of),
            ..OutboxEntry::new(
                TargetRef::of(target),
                op,
                fill_path(op.path_template(), id),
                body,
                &self.process_id,
            )
        }
    }

    /// Tells the delivery worker that `entries` were committed.
    fn queued(&self, entries: &[OutboxEntry]) {
        self.state.delivery.queued(entries);
    }

    /// The outbox entries of a push from an own backend for every EMP peer along its route,
    /// plus one copy for the clearing house when any route needs it (a push to the hub is for
    /// all EMPs, not per provider, oicp-2.3.md §1).
    fn fan_out_to_emp_peers<T: Serialize>(
        &self,
        op: Operation,
        operator: &OperatorId,
        body: &T,
    ) -> Result<Vec<OutboxEntry>, Failure> {
        let own = PartnerId::Operator(operator.clone());
        self.fan_out(op, Role::Emp, &own, body, |_| true)
    }

    /// The outbox entries of `body` for every peer of `role` that `keep` selects, each along
    /// its route, and one copy for the hub when a route needs it. Only pushes from an own
    /// backend fan out. (Entries of a `PushEvseStatus` `update` are coalesced by the store.)
    fn fan_out<T: Serialize>(
        &self,
        op: Operation,
        role: Role,
        own: &PartnerId,
        body: &T,
        keep: impl Fn(&PartnerId) -> bool,
    ) -> Result<Vec<OutboxEntry>, Failure> {
        if !self.called_by_backend() {
            return Ok(Vec::new());
        }
        let peers: Vec<_> = self
            .registry()
            .peers(role)
            .into_iter()
            .filter(|p| keep(&p.id))
            .collect();
        let mut hub_copy = self.hub_for_others(op);
        if peers.is_empty() && !hub_copy {
            return Ok(Vec::new());
        }
        // Serialized once, shared by every entry.
        let bytes = serialize(body)?;
        let routes: Vec<RouteKind> = peers.iter().map(|p| self.route_for(op, &p.id)).collect();
        hub_copy |= routes
            .iter()
            .any(|r| matches!(r, RouteKind::ClearingHouse | RouteKind::Both));
        let mut entries = Vec::with_capacity(peers.len() + 1);
        for (peer, route) in peers.iter().zip(routes) {
            // A push to the hub is for every EMP: when the hub gets its own copy anyway, a peer
            // that does not answer needs no fallback copy.
            let fallback = match route {
                RouteKind::DirectThenClearingHouse if !hub_copy => Some(self.hub_target(own)?),
                _ => None,
            };
            if route != RouteKind::ClearingHouse {
                entries.push(self.entry(
                    &Registry::peer_target(peer),
                    op,
                    own.as_str(),
                    Arc::clone(&bytes),
                    fallback.as_ref(),
                ));
            }
        }
        if hub_copy {
            entries.push(self.entry(&self.hub_target(own)?, op, own.as_str(), bytes, None));
        }
        Ok(entries)
    }

    fn routable(
        &self,
        op: Operation,
        partner: &PartnerId,
        direct: &Result<Target, Failure>,
    ) -> Result<(), Failure> {
        match (self.route_for(op, partner), direct) {
            (RouteKind::Direct | RouteKind::Both, Err(f)) => Err(f.clone()),
            (RouteKind::DirectThenClearingHouse, Err(f)) if *f.code() != Code::NoValidContract => {
                Err(f.clone())
            }
            _ => Ok(()),
        }
    }

    async fn call<Req, Resp>(
        &self,
        target: &Target,
        op: Operation,
        id: &str,
        body: &Req,
    ) -> Result<Resp, Failure>
    where
        Req: Serialize,
        Resp: serde::de::DeserializeOwned + crate::oicp::v23::validate::Validate,
    {
        self.route(target);
        let path = fill_path(op.path_template(), id);
        self.send(target, op, &path, body).await.inspect_err(|e| {
            tracing::warn!(error = ?e.status, "call failed");
        })
    }

    /// The peer `direct` names when it is an OCPI peer (its messages take their OCPI form in
    /// `super::ocpi::cpo` instead of being queued as OICP).
    fn ocpi_peer(&self, direct: &Result<Target, Failure>) -> Option<Arc<crate::config::Peer>> {
        self.ocpi_peer_of(direct.as_ref().ok()?)
    }

    /// The peer `target` is when it is a peer with `protocol = "ocpi"`.
    fn ocpi_peer_of(&self, target: &Target) -> Option<Arc<crate::config::Peer>> {
        if target.kind != TargetKind::Peer {
            return None;
        }
        self.registry()
            .peer(&target.id)
            .filter(|p| p.ocpi.is_some())
    }

    /// One call to `target` at `path`: OICP over HTTP, or through [`super::ocpi::bridge`] when
    /// the target is a peer with `protocol = "ocpi"`.
    async fn send<Req, Resp>(
        &self,
        target: &Target,
        op: Operation,
        path: &str,
        body: &Req,
    ) -> Result<Resp, Failure>
    where
        Req: Serialize,
        Resp: serde::de::DeserializeOwned + crate::oicp::v23::validate::Validate,
    {
        if let Some(peer) = self.ocpi_peer_of(target) {
            return super::ocpi::bridge::call(self, &peer, op, body).await;
        }
        self.client
            .call(target, path, &self.process_id, body)
            .await
            .map_err(Failure::from)
    }
}

/// A body as JSON, shared by the outbox entries of a fan-out.
fn serialize<T: Serialize>(body: &T) -> Result<Arc<[u8]>, Failure> {
    serde_json::to_vec(body)
        .map(Arc::from)
        .map_err(|e| Failure::new(Code::SystemError, e.to_string()))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn new_session_id() -> SessionId {
    SessionId::new_v4_from_bytes(*uuid::Uuid::new_v4().as_bytes())
}

fn mismatch(what: &str, body: &str, path: &str) -> Failure {
    Failure::new(
        Code::DataError,
        format!("{what} {body} in the body does not match {path} in the path"),
    )
}

/// Every `EvseID` must belong to the operator (or name it as its hub operator): 018 otherwise.
fn check_evses<'a>(
    operator: &OperatorId,
    evses: impl IntoIterator<Item = (&'a EvseId, Option<&'a OperatorId>)>,
) -> Result<(), Failure> {
    for (evse, hub) in evses {
        if evse.operator_id() != *operator && hub != Some(operator) {
            return Err(Failure::new(
                Code::InconsistentEvseId,
                format!("EvseID {evse} does not belong to operator {operator}"),
            ));
        }
    }
    Ok(())
}

fn ack_success() -> Acknowledgement {
    Acknowledgement::success()
}

fn ack_with_description(description: &str) -> Acknowledgement {
    Acknowledgement::with_status(
        true,
        StatusCode::with_description(Code::Success, description),
    )
}

// ---------------------------------------------------------------------------------------------
// CPO side: EVSE data, status and pricing pushes

/// eRoamingPushEvseData.
pub async fn push_evse_data(ctx: Ctx, req: PushEvseData) -> Result<Acknowledgement, Failure> {
    let operator = ctx.path_operator()?;
    let data = &req.operator_evse_data;
    if data.operator_id != operator {
        return Err(mismatch(
            "OperatorID",
            data.operator_id.as_str(),
            operator.as_str(),
        ));
    }
    if !ctx.called_by_backend() {
        ctx.require_hosts(Role::Emp)?;
    }
    check_evses(
        &operator,
        data.evse_data_record
            .iter()
            .map(|r| (&r.evse_id, r.hub_operator_id.as_ref())),
    )?;
    ctx.route_local("store");
    let outbox = ctx.fan_out_to_emp_peers(Operation::PushEvseData, &operator, &req)?;
    ctx.state
        .store
        .apply_evse_data(
            &operator,
            data.operator_name.as_str(),
            req.action_type.clone(),
            &data.evse_data_record,
            now(),
            &outbox,
        )
        .await?;
    ctx.queued(&outbox);
    if ctx.called_by_backend() {
        super::ocpi::cpo::on_evse_data(&ctx.state, &operator).await;
    }
    Ok(ack_success())
}

/// eRoamingPushEvseStatus.
pub async fn push_evse_status(ctx: Ctx, req: PushEvseStatus) -> Result<Acknowledgement, Failure> {
    let operator = ctx.path_operator()?;
    let data = &req.operator_evse_status;
    if data.operator_id != operator {
        return Err(mismatch(
            "OperatorID",
            data.operator_id.as_str(),
            operator.as_str(),
        ));
    }
    if !ctx.called_by_backend() {
        ctx.require_hosts(Role::Emp)?;
    }
    check_evses(
        &operator,
        data.evse_status_record.iter().map(|r| (&r.evse_id, None)),
    )?;
    ctx.route_local("store");
    let name = data.operator_name.as_ref().map(Bounded::as_str);
    // The entries of an `update` are coalesced per EVSE by the store, once for all peers (latest
    // status wins, batched per peer at delivery), which keeps their targets but not their body:
    // nothing to serialize. Every other action is queued as pushed.
    let outbox = if req.action_type == ActionType::Update {
        ctx.fan_out_to_emp_peers(Operation::PushEvseStatus, &operator, &())?
    } else {
        ctx.fan_out_to_emp_peers(Operation::PushEvseStatus, &operator, &req)?
    };
    // A backend's statuses patch the own CPO's OCPI Location view in the same store job.
    let view = if ctx.called_by_backend() {
        super::ocpi::cpo::status_view_patch(&ctx.state, &operator, &data.evse_status_record)
    } else {
        None
    };
    let changed = ctx
        .state
        .store
        .apply_evse_status_and_view(
            &operator,
            name,
            req.action_type.clone(),
            &data.evse_status_record,
            now(),
            &outbox,
            view,
        )
        .await?;
    ctx.queued(&outbox);
    if !changed.is_empty() {
        super::ocpi::cpo::on_evse_status(&ctx.state, &operator, &changed).await;
    }
    Ok(ack_success())
}

/// eRoamingPushPricingProductData: the products are for one provider or `*`; the push goes to
/// that provider's peer only, or to every EMP peer for `*`.
pub async fn push_pricing_products(
    ctx: Ctx,
    req: PushPricingProductData,
) -> Result<Acknowledgement, Failure> {
    let operator = ctx.path_operator()?;
    let data = &req.pricing_product_data;
    if data.operator_id != operator {
        return Err(mismatch(
            "OperatorID",
            data.operator_id.as_str(),
            operator.as_str(),
        ));
    }
    if !ctx.called_by_backend() {
        ctx.require_hosts(Role::Emp)?;
    }
    ctx.route_local("store");
    let own = PartnerId::Operator(operator.clone());
    let outbox = ctx.fan_out(
        Operation::PushPricingProductData,
        Role::Emp,
        &own,
        &req,
        |id| matches!(id, PartnerId::Provider(p) if data.provider_id.matches(p)),
    )?;
    ctx.state
        .store
        .apply_pricing_products(data, req.action_type.clone(), now(), &outbox)
        .await?;
    ctx.queued(&outbox);
    if ctx.called_by_backend() {
        super::ocpi::cpo::tariffs::on_pricing(&ctx.state, data).await;
    }
    Ok(ack_success())
}

/// eRoamingPushEVSEPricing: each EMP peer receives the entries for it and for `*`.
pub async fn push_evse_pricing(ctx: Ctx, req: PushEvsePricing) -> Result<Acknowledgement, Failure> {
    let operator = ctx.path_operator()?;
    if !ctx.called_by_backend() {
        ctx.require_hosts(Role::Emp)?;
    }
    check_evses(
        &operator,
        req.evse_pricing.iter().map(|r| (&r.evse_id, None)),
    )?;
    ctx.route_local("store");
    let mut outbox = Vec::new();
    if ctx.called_by_backend() {
        let own = PartnerId::Operator(operator.clone());
        for peer in ctx.registry().peers(Role::Emp) {
            let PartnerId::Provider(p) = &peer.id else {
                continue;
            };
            let entries: Vec<_> = req
                .evse_pricing
                .iter()
                .filter(|e| e.provider_id.matches(p))
                .cloned()
                .collect();
            if entries.is_empty()
                || ctx.route_for(Operation::PushEvsePricing, &peer.id) == RouteKind::ClearingHouse
            {
                continue;
            }
            let body = PushEvsePricing {
                action_type: req.action_type.clone(),
                evse_pricing: entries,
                extra: req.extra.clone(),
            };
            let direct = Ok(Registry::peer_target(&peer));
            outbox.extend(ctx.routed_entries(
                Operation::PushEvsePricing,
                &peer.id,
                &own,
                direct,
                operator.as_str(),
                &body,
            )?);
        }
        // The hub gets the whole push once: it serves every provider itself.
        let hub_needed = ctx.hub_for_others(Operation::PushEvsePricing)
            || ctx.registry().peers(Role::Emp).iter().any(|p| {
                ctx.route_for(Operation::PushEvsePricing, &p.id) == RouteKind::ClearingHouse
            });
        if hub_needed {
            let hub = ctx.hub_target(&own)?;
            outbox.push(ctx.entry(
                &hub,
                Operation::PushEvsePricing,
                operator.as_str(),
                serialize(&req)?,
                None,
            ));
        }
    }
    ctx.state
        .store
        .apply_evse_pricing(
            &operator,
            req.action_type.clone(),
            &req.evse_pricing,
            now(),
            &outbox,
        )
        .await?;
    ctx.queued(&outbox);
    Ok(ack_success())
}

// ---------------------------------------------------------------------------------------------
// CPO side: authorization, notifications, CDRs

/// The EMP named by an identification's contract ID.
fn named_provider(identification: Option<&Identification>) -> Option<ProviderId> {
    identification
        .and_then(Identification::evco_id)
        .map(EvcoId::provider_id)
}

/// eRoamingAuthorizeStart: to the EMP named by the contract ID, else offline authentication
/// data, else a broadcast where the first `Authorized` wins.
pub async fn authorize_start(ctx: Ctx, req: AuthorizeStart) -> Result<AuthorizationStart, Failure> {
    let operator = ctx.path_operator()?;
    if req.operator_id != operator {
        return Err(mismatch(
            "OperatorID",
            req.operator_id.as_str(),
            operator.as_str(),
        ));
    }
    if let Some(evse) = &req.evse_id {
        check_evses(&operator, [(evse, None)])?;
    }
    if let Some(provider) = named_provider(Some(&req.identification)) {
        return authorize_named(&ctx, &req, &operator, provider).await;
    }
    if ctx.called_by_backend()
        && let Some(answer) = authorize_offline(&ctx, &req, &operator).await?
    {
        return Ok(answer);
    }
    let candidates = broadcast_candidates(&ctx, &operator)?;
    if candidates.is_empty() {
        return Err(Failure::no_route(
            "no e-mobility provider is registered with this node",
        ));
    }
    let single = candidates.len() == 1;
    let mut pending: FuturesUnordered<_> = candidates
        .into_iter()
        .map(|target| {
            let mut body = req.clone();
            if target.kind == TargetKind::Backend && body.session_id.is_none() {
                body.session_id = Some(new_session_id());
            }
            let ctx = ctx.clone();
            async move {
                let path = fill_path(
                    Operation::AuthorizeStart.path_template(),
                    operator_str(&body),
                );
                let result = ctx
                    .send::<_, AuthorizationStart>(&target, Operation::AuthorizeStart, &path, &body)
                    .await;
                (target, body.session_id, result)
            }
        })
        .collect();
    let mut last_failure: Option<Failure> = None;
    let mut last_negative: Option<AuthorizationStart> = None;
    while let Some((target, sent_session, result)) = pending.next().await {
        match result {
            Ok(answer) if answer.is_authorized() => {
                ctx.route(&target);
                if target.kind == TargetKind::Hub {
                    let partner = answer.provider_id.as_ref().map(ToString::to_string);
                    ctx.note_route(partner.as_deref(), "clearing-house");
                }
                let provider = match &target.id {
                    PartnerId::Provider(p) if target.kind != TargetKind::Hub => Some(p.clone()),
                    _ => None,
                };
                // Dropping `pending` ignores the late answers.
                return finish_authorized(&ctx, &req, &operator, provider, sent_session, answer)
                    .await;
            }
            Ok(answer) => last_negative = Some(answer),
            Err(e) => {
                tracing::info!(partner = %target.id, error = ?e.status, "authorization candidate failed");
                last_failure = Some(e);
            }
        }
    }
    if single {
        if let Some(answer) = last_negative {
            return Ok(answer);
        }
        if let Some(f) = last_failure {
            return Err(f);
        }
    }
    Err(Failure::no_route(
        "no e-mobility provider authorized the identification",
    ))
}

/// `AuthorizeStart` to the EMP named by the contract ID, along its route (the node mints the
/// `SessionID` when that EMP is an own party).
async fn authorize_named(
    ctx: &Ctx,
    req: &AuthorizeStart,
    operator: &OperatorId,
    provider: ProviderId,
) -> Result<AuthorizationStart, Failure> {
    // The EMP named by the contract ID, along its route.
    let partner = PartnerId::Provider(provider.clone());
    let direct = ctx.emp_target(&provider);
    let mut body = req.clone();
    if direct.as_ref().is_ok_and(|t| t.kind == TargetKind::Backend) && body.session_id.is_none() {
        body.session_id = Some(new_session_id());
    }
    let answer: AuthorizationStart = ctx
        .call_routed(
            Operation::AuthorizeStart,
            &partner,
            direct,
            operator.as_str(),
            &body,
        )
        .await?;
    finish_authorized(ctx, req, operator, Some(provider), body.session_id, answer).await
}

/// Every EMP an `AuthorizeStart` is broadcast to: own EMPs, EMP peers whose route is not the
/// clearing house alone, and the clearing house once when a route sends there (the hub then
/// asks the EMPs it knows; it may be one more candidate, oicp-2.3.md §2.3).
fn broadcast_candidates(ctx: &Ctx, operator: &OperatorId) -> Result<Vec<Target>, Failure> {
    let mut out: Vec<Target> = ctx
        .registry()
        .own(Role::Emp)
        .filter_map(|p| ctx.registry().backend_target(p))
        .collect();
    if !ctx.called_by_backend() {
        return Ok(out);
    }
    let mut hub = ctx.hub_for_others(Operation::AuthorizeStart);
    // OCPI eMSP peers are asked too (through `ocpi::bridge`).
    let emps = ctx
        .registry()
        .all_peers()
        .into_iter()
        .filter(|p| p.id.role() == Role::Emp);
    for peer in emps {
        let route = ctx.route_for(Operation::AuthorizeStart, &peer.id);
        if matches!(route, RouteKind::ClearingHouse | RouteKind::Both) {
            hub = true;
        }
        if route != RouteKind::ClearingHouse {
            out.push(Registry::peer_target(&peer));
        }
    }
    if hub {
        out.push(ctx.hub_target(&PartnerId::Operator(operator.clone()))?);
    }
    Ok(out)
}

/// Completes a positive `AuthorizeStart` answer (`ProviderID`, `SessionID` — the one the answering
/// side minted is kept — and the CPO's partner session ID) and records the session; passes a
/// negative one on unchanged.
async fn finish_authorized(
    ctx: &Ctx,
    req: &AuthorizeStart,
    operator: &OperatorId,
    provider: Option<ProviderId>,
    sent_session: Option<SessionId>,
    mut answer: AuthorizationStart,
) -> Result<AuthorizationStart, Failure> {
    if !answer.is_authorized() {
        return Ok(answer);
    }
    let provider = answer.provider_id.clone().or(provider);
    answer.provider_id.clone_from(&provider);
    let session_id = answer
        .session_id
        .clone()
        .or(sent_session)
        .unwrap_or_else(new_session_id);
    answer.session_id = Some(session_id.clone());
    if answer.cpo_partner_session_id.is_none() {
        answer.cpo_partner_session_id = req.cpo_partner_session_id.clone();
    }
    if let Some(provider) = provider {
        let emp_psid = answer
            .emp_partner_session_id
            .as_ref()
            .map(|s| s.as_str().to_owned());
        record_authorized_session(ctx, req, operator, &provider, &session_id, emp_psid).await?;
    }
    Ok(answer)
}

/// `AuthorizeStart` from the authentication data EMPs pushed, if they know the identification.
async fn authorize_offline(
    ctx: &Ctx,
    req: &AuthorizeStart,
    operator: &OperatorId,
) -> Result<Option<AuthorizationStart>, Failure> {
    let Some(provider) = ctx
        .state
        .store
        .find_authorization(&req.identification)
        .await?
    else {
        return Ok(None);
    };
    ctx.route_local("authentication-data");
    let mut answer = AuthorizationStart::authorized(provider.clone());
    let session_id = req.session_id.clone().unwrap_or_else(new_session_id);
    answer.session_id = Some(session_id.clone());
    answer.cpo_partner_session_id = req.cpo_partner_session_id.clone();
    answer.status_code =
        StatusCode::with_description(Code::Success, "authorized from pushed authentication data");
    record_authorized_session(ctx, req, operator, &provider, &session_id, None).await?;
    Ok(Some(answer))
}

fn operator_str(req: &AuthorizeStart) -> &str {
    req.operator_id.as_str()
}

async fn record_authorized_session(
    ctx: &Ctx,
    req: &AuthorizeStart,
    operator: &OperatorId,
    provider: &ProviderId,
    session_id: &SessionId,
    emp_psid: Option<String>,
) -> Result<(), Failure> {
    let record = SessionRecord {
        session_id: session_id.clone(),
        cpo_partner_session_id: req
            .cpo_partner_session_id
            .as_ref()
            .map(|s| s.as_str().to_owned()),
        emp_partner_session_id: emp_psid,
        operator_id: Some(operator.clone()),
        provider_id: Some(provider.clone()),
        evse_id: req.evse_id.clone(),
        state: "authorized".to_owned(),
        created_at: now(),
        updated_at: now(),
    };
    ctx.state.store.upsert_session(&record).await?;
    Ok(())
}

/// The EMP of a session, else the one named by the message, else, for a message from a peer
/// (a CPO reaching the EMP it chose), the node's only own EMP: the node knows no session the
/// CPO authorized offline from pushed authentication data.
async fn provider_of(
    ctx: &Ctx,
    session_id: &SessionId,
    named: Option<ProviderId>,
) -> Result<ProviderId, Failure> {
    if let Some(s) = ctx.state.store.session(session_id).await?
        && let Some(p) = s.provider_id
    {
        return Ok(p);
    }
    if let Some(p) = named {
        return Ok(p);
    }
    if !ctx.called_by_backend() {
        let mut own = ctx.registry().own(Role::Emp);
        if let (Some(only), None) = (own.next(), own.next())
            && let PartnerId::Provider(p) = &only.id
        {
            return Ok(p.clone());
        }
    }
    Err(Failure::no_route(format!(
        "no e-mobility provider is known for session {session_id}"
    )))
}

async fn touch_session(
    ctx: &Ctx,
    session_id: &SessionId,
    operator: &OperatorId,
    provider: &ProviderId,
    evse: Option<&EvseId>,
    state: &str,
) -> Result<(), Failure> {
    let record = SessionRecord {
        session_id: session_id.clone(),
        cpo_partner_session_id: None,
        emp_partner_session_id: None,
        operator_id: Some(operator.clone()),
        provider_id: Some(provider.clone()),
        evse_id: evse.cloned(),
        state: state.to_owned(),
        created_at: now(),
        updated_at: now(),
    };
    ctx.state.store.upsert_session(&record).await?;
    Ok(())
}

/// eRoamingAuthorizeStop: to the EMP of the session.
pub async fn authorize_stop(ctx: Ctx, req: AuthorizeStop) -> Result<AuthorizationStop, Failure> {
    let operator = ctx.path_operator()?;
    if req.operator_id != operator {
        return Err(mismatch(
            "OperatorID",
            req.operator_id.as_str(),
            operator.as_str(),
        ));
    }
    if let Some(evse) = &req.evse_id {
        check_evses(&operator, [(evse, None)])?;
    }
    let provider = provider_of(
        &ctx,
        &req.session_id,
        named_provider(Some(&req.identification)),
    )
    .await?;
    let direct = ctx.emp_target(&provider);
    let partner = PartnerId::Provider(provider.clone());
    let mut answer: AuthorizationStop = ctx
        .call_routed(
            Operation::AuthorizeStop,
            &partner,
            direct,
            operator.as_str(),
            &req,
        )
        .await?;
    if answer.authorization_status == AuthorizationStatus::Authorized
        && answer.provider_id.is_none()
    {
        answer.provider_id = Some(provider.clone());
    }
    if answer.session_id.is_none() {
        answer.session_id = Some(req.session_id.clone());
    }
    touch_session(
        &ctx,
        &req.session_id,
        &operator,
        &provider,
        req.evse_id.as_ref(),
        "stop-authorized",
    )
    .await?;
    Ok(answer)
}

/// eRoamingChargingNotifications: stored-and-forwarded to the EMP of the session.
pub async fn charging_notification(
    ctx: Ctx,
    req: ChargingNotification,
) -> Result<Acknowledgement, Failure> {
    let operator = req.operator_id().clone();
    if !ctx
        .caller
        .may_act_for(&PartnerId::Operator(operator.clone()))
    {
        return Err(Failure::unauthorized(format!(
            "the caller may not act for operator {operator}"
        )));
    }
    check_evses(&operator, [(req.evse_id(), None)])?;
    let provider =
        provider_of(&ctx, req.session_id(), named_provider(req.identification())).await?;
    let direct = ctx.emp_target(&provider);
    let partner = PartnerId::Provider(provider.clone());
    ctx.routable(Operation::ChargingNotificationStart, &partner, &direct)?;
    let state = match req.notification_type() {
        ChargingNotificationType::Start | ChargingNotificationType::Progress => "charging",
        ChargingNotificationType::End => "charging-ended",
        ChargingNotificationType::Error | ChargingNotificationType::Unknown(_) => "error",
    };
    touch_session(
        &ctx,
        req.session_id(),
        &operator,
        &provider,
        Some(req.evse_id()),
        state,
    )
    .await?;
    if let Some(peer) = ctx.ocpi_peer(&direct) {
        super::ocpi::cpo::sessions::notification(&ctx, &peer, &req).await?;
        return Ok(ack_success());
    }
    let own = PartnerId::Operator(operator.clone());
    let outbox = ctx.routed_entries(
        Operation::ChargingNotificationStart,
        &partner,
        &own,
        direct,
        "",
        &req,
    )?;
    ctx.state.store.enqueue(&outbox, now()).await?;
    ctx.queued(&outbox);
    Ok(ack_success())
}

/// eRoamingChargeDetailRecord: one per `SessionID`, stored, then delivered to the EMP of the
/// session (or the one the CDR names); the sender is answered once it is stored.
pub async fn charge_detail_record(
    ctx: Ctx,
    req: ChargeDetailRecord,
) -> Result<Acknowledgement, Failure> {
    let operator = ctx.path_operator()?;
    check_evses(&operator, [(&req.evse_id, req.hub_operator_id.as_ref())])?;
    let named = req
        .hub_provider_id
        .clone()
        .or_else(|| named_provider(Some(&req.identification)));
    let provider = provider_of(&ctx, &req.session_id, named).await?;
    let direct = ctx.emp_target(&provider);
    let partner = PartnerId::Provider(provider.clone());
    ctx.routable(Operation::ChargeDetailRecord, &partner, &direct)?;
    let own = PartnerId::Operator(operator.clone());
    let (outbox, ocpi_cdr) = match ctx.ocpi_peer(&direct) {
        Some(peer) => {
            let (cdr, entries) = super::ocpi::cpo::cdrs::translate(&ctx, &peer, &req).await?;
            (entries, Some(cdr))
        }
        None => (
            ctx.routed_entries(
                Operation::ChargeDetailRecord,
                &partner,
                &own,
                direct,
                operator.as_str(),
                &req,
            )?,
            None,
        ),
    };
    match ctx
        .state
        .store
        .insert_cdr(&req, &operator, Some(&provider), now(), &outbox)
        .await?
    {
        CdrInsert::Duplicate => {
            return Ok(ack_with_description(&format!(
                "duplicate: this CDR for session {} was already accepted",
                req.session_id
            )));
        }
        CdrInsert::New => {}
    }
    if let Some(cdr) = ocpi_cdr {
        ctx.state
            .store
            .ocpi_cpo_put_objects(vec![cdr], &[], now())
            .await?;
    }
    touch_session(
        &ctx,
        &req.session_id,
        &operator,
        &provider,
        Some(&req.evse_id),
        "cdr",
    )
    .await?;
    ctx.queued(&outbox);
    Ok(ack_success())
}

// ---------------------------------------------------------------------------------------------
// EMP side: remote start/stop and reservations

/// Routes a remote operation to the CPO that owns the EVSE, recording the session first (so a
/// start whose answer times out is still known when its notifications and CDR arrive).
#[expect(
    clippy::too_many_arguments,
    reason = "the four remote operations name their session fields differently"
)]
async fn remote<Req: Serialize>(
    ctx: &Ctx,
    op: Operation,
    body_provider: &ProviderId,
    evse: &EvseId,
    session_id: &SessionId,
    cpo_psid: Option<String>,
    emp_psid: Option<String>,
    state: &str,
    body: &Req,
) -> Result<Acknowledgement, Failure> {
    let provider = ctx.path_provider()?;
    if *body_provider != provider {
        return Err(mismatch(
            "ProviderID",
            body_provider.as_str(),
            provider.as_str(),
        ));
    }
    let operator = evse.operator_id();
    let direct = ctx.cpo_target(&operator);
    let partner = PartnerId::Operator(operator.clone());
    ctx.routable(op, &partner, &direct)?;
    let record = SessionRecord {
        session_id: session_id.clone(),
        cpo_partner_session_id: cpo_psid,
        emp_partner_session_id: emp_psid,
        operator_id: Some(operator.clone()),
        provider_id: Some(provider.clone()),
        evse_id: Some(evse.clone()),
        state: state.to_owned(),
        created_at: now(),
        updated_at: now(),
    };
    ctx.state.store.upsert_session(&record).await?;
    let mut answer: Acknowledgement = ctx
        .call_routed(op, &partner, direct, provider.as_str(), body)
        .await?;
    match &answer.session_id {
        None => answer.session_id = Some(session_id.clone()),
        // The answering side (the hub, when it mints its own) named another session: later
        // notifications and the CDR come with that ID, so the node knows it too.
        Some(theirs) if theirs != session_id => {
            let record = SessionRecord {
                session_id: theirs.clone(),
                ..record
            };
            ctx.state.store.upsert_session(&record).await?;
        }
        Some(_) => {}
    }
    Ok(answer)
}

fn psid<T: AsRef<str>>(v: Option<&T>) -> Option<String> {
    v.map(|s| s.as_ref().to_owned())
}

/// eRoamingAuthorizeRemoteStart.
pub async fn remote_start(
    ctx: Ctx,
    mut req: AuthorizeRemoteStart,
) -> Result<Acknowledgement, Failure> {
    let session_id = req.session_id.get_or_insert_with(new_session_id).clone();
    let (p, e) = (req.provider_id.clone(), req.evse_id.clone());
    let (c, m) = (
        psid(req.cpo_partner_session_id.as_ref()),
        psid(req.emp_partner_session_id.as_ref()),
    );
    remote(
        &ctx,
        Operation::AuthorizeRemoteStart,
        &p,
        &e,
        &session_id,
        c,
        m,
        "remote-start-sent",
        &req,
    )
    .await
}

/// eRoamingAuthorizeRemoteStop.
pub async fn remote_stop(ctx: Ctx, req: AuthorizeRemoteStop) -> Result<Acknowledgement, Failure> {
    let (c, m) = (
        psid(req.cpo_partner_session_id.as_ref()),
        psid(req.emp_partner_session_id.as_ref()),
    );
    remote(
        &ctx,
        Operation::AuthorizeRemoteStop,
        &req.provider_id,
        &req.evse_id,
        &req.session_id,
        c,
        m,
        "remote-stop-sent",
        &req,
    )
    .await
}

/// eRoamingAuthorizeRemoteReservationStart.
pub async fn reservation_start(
    ctx: Ctx,
    mut req: AuthorizeRemoteReservationStart,
) -> Result<Acknowledgement, Failure> {
    let session_id = req.session_id.get_or_insert_with(new_session_id).clone();
    let (p, e) = (req.provider_id.clone(), req.evse_id.clone());
    let (c, m) = (
        psid(req.cpo_partner_session_id.as_ref()),
        psid(req.emp_partner_session_id.as_ref()),
    );
    remote(
        &ctx,
        Operation::AuthorizeRemoteReservationStart,
        &p,
        &e,
        &session_id,
        c,
        m,
        "reservation-sent",
        &req,
    )
    .await
}

/// eRoamingAuthorizeRemoteReservationStop.
pub async fn reservation_stop(
    ctx: Ctx,
    req: AuthorizeRemoteReservationStop,
) -> Result<Acknowledgement, Failure> {
    let (c, m) = (
        psid(req.cpo_partner_session_id.as_ref()),
        psid(req.emp_partner_session_id.as_ref()),
    );
    remote(
        &ctx,
        Operation::AuthorizeRemoteReservationStop,
        &req.provider_id,
        &req.evse_id,
        &req.session_id,
        c,
        m,
        "reservation-stop-sent",
        &req,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// EMP side: pulls, answered from the store

fn check_body_provider(ctx: &Ctx, body: &ProviderId) -> Result<ProviderId, Failure> {
    let provider = ctx.path_provider()?;
    if *body != provider {
        return Err(mismatch("ProviderID", body.as_str(), provider.as_str()));
    }
    Ok(provider)
}

fn count(n: u64) -> Option<PageCount> {
    Int::new(i64::try_from(n).unwrap_or(i64::MAX).min(2_147_483_647)).ok()
}

fn restrict(requested: &[OperatorId], visible: Option<&[OperatorId]>) -> Vec<OperatorId> {
    match visible {
        None => requested.to_vec(),
        Some(v) => requested
            .iter()
            .filter(|o| v.contains(o))
            .cloned()
            .collect(),
    }
}

/// eRoamingPullEvseData, paged.
pub async fn pull_evse_data(ctx: Ctx, req: PullEvseData) -> Result<EvseDataPage, Failure> {
    check_body_provider(&ctx, &req.provider_id)?;
    if let Some(target) = live_pull_target(
        &ctx,
        Operation::PullEvseData,
        req.operator_ids.as_deref().unwrap_or_default(),
    ) {
        let paging = format!("page={}&size={}", ctx.page.page, ctx.page.size);
        return pull_live(&ctx, &target, Operation::PullEvseData, &paging, &req).await;
    }
    ctx.route_local("store");
    let query = EvseDataQuery {
        operators: ctx.visible_operators(),
        request: req,
        page: ctx.page.page,
        size: ctx.page.size,
        sort: ctx.page.sort.clone(),
    };
    let (mut records, mut total) = ctx.state.store.query_evse_data(&query).await?;
    if ctx.hub_for_others(Operation::PullEvseData) {
        // Merged: the node's page plus the hub's page of the same number for the operators
        // that are not direct; totals add up (a page may then hold up to twice `size`).
        let paging = format!("page={}&size={}", query.page, query.size);
        if let Some(hub) =
            pull_from_hub::<_, EvseDataPage>(&ctx, Operation::PullEvseData, &paging, &query.request)
                .await
        {
            let seen: std::collections::HashSet<EvseId> =
                records.iter().map(|r| r.evse_id.clone()).collect();
            let extra: Vec<_> = hub
                .content
                .into_iter()
                .filter(|r| !is_direct_operator(&ctx, &r.operator_id) && !seen.contains(&r.evse_id))
                .collect();
            let hub_total = hub
                .total_elements
                .map_or(0, |t| u64::try_from(t.get()).unwrap_or(0));
            total += hub_total;
            records.extend(extra);
        }
    }
    let size = u64::from(query.size.max(1));
    let pages = total.div_ceil(size);
    let number = u64::from(query.page);
    Ok(EvseDataPage {
        number_of_elements: count(records.len() as u64),
        content: records,
        number: count(number),
        size: count(size),
        total_elements: count(total),
        total_pages: count(pages),
        first: Some(number == 0),
        last: Some(number + 1 >= pages),
        status_code: Some(StatusCode::success()),
        extra: Extra::new(),
    })
}

/// A pull an own EMP backend sends for exactly one operator goes live to that CPO peer when a
/// route rule names the peer with `direct` for the operation (e.g. `[[route]] operation =
/// "evse-status"`, `partner = "DE*GEF"`, `route = "direct"`); otherwise pulls are answered from
/// the node's store.
fn live_pull_target(ctx: &Ctx, op: Operation, operators: &[OperatorId]) -> Option<Target> {
    let first = operators.first()?;
    if !ctx.called_by_backend() || operators.iter().any(|o| o != first) {
        return None;
    }
    let id = PartnerId::Operator(first.clone());
    let peer = ctx.registry().peer(&id)?;
    let table = &ctx.state.config.routing;
    let resolution = table.resolve(op, &id);
    let named = resolution
        .rule
        .and_then(|i| table.rules().iter().find(|r| r.index == i))
        .is_some_and(|r| r.partner.is_some());
    (named && resolution.route == RouteKind::Direct).then(|| Registry::peer_target(&peer))
}

/// Forwards a pull to a CPO peer (the own provider's ID in the path, paging passed on).
async fn pull_live<Req, Resp>(
    ctx: &Ctx,
    target: &Target,
    op: Operation,
    query: &str,
    body: &Req,
) -> Result<Resp, Failure>
where
    Req: Serialize,
    Resp: serde::de::DeserializeOwned + crate::oicp::v23::validate::Validate,
{
    let own = ctx.path_provider()?;
    let mut path = fill_path(op.path_template(), own.as_str());
    if !query.is_empty() {
        path.push('?');
        path.push_str(query);
    }
    ctx.route(target);
    ctx.send(target, op, &path, body).await
}

/// Whether the node has the data of `operator` itself: an own CPO or a directly connected CPO
/// peer. The clearing house answers merged pulls only for the other operators.
fn is_direct_operator(ctx: &Ctx, operator: &OperatorId) -> bool {
    let id = PartnerId::Operator(operator.clone());
    ctx.registry().party(&id).is_some() || ctx.registry().peer(&id).is_some()
}

/// Pulls `body` from the clearing house for a merged pull (the caller's `ProviderID` in the path,
/// the paging query passed on); a failure of the hub leaves the local answer alone.
async fn pull_from_hub<Req, Resp>(ctx: &Ctx, op: Operation, query: &str, body: &Req) -> Option<Resp>
where
    Req: Serialize,
    Resp: serde::de::DeserializeOwned + crate::oicp::v23::validate::Validate,
{
    let own = ctx.path_id.clone()?;
    let hub = ctx.hub_target(&own).ok()?;
    let mut path = fill_path(op.path_template(), own.as_str());
    if !query.is_empty() {
        path.push('?');
        path.push_str(query);
    }
    match ctx
        .client
        .call::<Req, Resp>(&hub, &path, &ctx.process_id, body)
        .await
    {
        Ok(answer) => {
            ctx.note_route(Some(crate::clearing_house::HUB), "local+clearing-house");
            Some(answer)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the clearing house part of a merged pull failed");
            None
        }
    }
}

fn status_response(
    list: Vec<crate::oicp::v23::evse_status::OperatorEvseStatus>,
) -> EvseStatusResponse {
    EvseStatusResponse {
        evse_statuses: EvseStatuses {
            operator_evse_status: list,
            extra: Extra::new(),
        },
        status_code: Some(StatusCode::success()),
        extra: Extra::new(),
    }
}

/// eRoamingPullEvseStatus.
pub async fn pull_evse_status(
    ctx: Ctx,
    req: PullEvseStatus,
) -> Result<EvseStatusResponse, Failure> {
    check_body_provider(&ctx, &req.provider_id)?;
    ctx.route_local("store");
    let center = match &req.search_center {
        Some(c) => {
            let (lat, lon) = c.geo_coordinates.lat_lon().unwrap_or((0.0, 0.0));
            let radius: f64 = c.radius.to_string().parse().unwrap_or(0.0);
            Some((lat, lon, radius))
        }
        None => None,
    };
    let visible = ctx.visible_operators();
    let list = ctx
        .state
        .store
        .query_evse_status(visible.as_deref(), center, req.evse_status.as_ref())
        .await?;
    let mut list = list;
    if ctx.hub_for_others(Operation::PullEvseStatus)
        && let Some(hub) =
            pull_from_hub::<_, EvseStatusResponse>(&ctx, Operation::PullEvseStatus, "", &req).await
    {
        merge_operators(&ctx, &mut list, hub.evse_statuses.operator_evse_status);
    }
    Ok(status_response(list))
}

/// Adds the hub's operators that the node does not have itself (no duplicates).
fn merge_operators(
    ctx: &Ctx,
    list: &mut Vec<crate::oicp::v23::evse_status::OperatorEvseStatus>,
    hub: Vec<crate::oicp::v23::evse_status::OperatorEvseStatus>,
) {
    for operator in hub {
        let known = list.iter().any(|o| o.operator_id == operator.operator_id);
        if !known && !is_direct_operator(ctx, &operator.operator_id) {
            list.push(operator);
        }
    }
}

/// eRoamingPullEvseStatusById.
pub async fn pull_evse_status_by_id(
    ctx: Ctx,
    req: PullEvseStatusById,
) -> Result<EvseStatusByIdResponse, Failure> {
    check_body_provider(&ctx, &req.provider_id)?;
    let operators: Vec<OperatorId> = req.evse_id.iter().map(EvseId::operator_id).collect();
    if let Some(target) = live_pull_target(&ctx, Operation::PullEvseStatusById, &operators) {
        return pull_live(&ctx, &target, Operation::PullEvseStatusById, "", &req).await;
    }
    ctx.route_local("store");
    let visible = ctx.visible_operators();
    let mut records = ctx
        .state
        .store
        .evse_status_by_ids(&req.evse_id, visible.as_deref())
        .await?;
    // Unknown here and not of a direct operator: ask the clearing house.
    let ask_hub: Vec<EvseId> = records
        .iter()
        .filter(|r| {
            r.evse_status == crate::oicp::v23::evse_status::EvseStatus::EvseNotFound
                && !is_direct_operator(&ctx, &r.evse_id.operator_id())
        })
        .map(|r| r.evse_id.clone())
        .collect();
    if !ask_hub.is_empty() && ctx.hub_for_others(Operation::PullEvseStatusById) {
        let body = PullEvseStatusById {
            evse_id: ask_hub,
            ..req.clone()
        };
        if let Some(hub) = pull_from_hub::<_, EvseStatusByIdResponse>(
            &ctx,
            Operation::PullEvseStatusById,
            "",
            &body,
        )
        .await
        {
            for found in hub.evse_status_records.evse_status_record {
                if let Some(r) = records.iter_mut().find(|r| r.evse_id == found.evse_id) {
                    *r = found;
                }
            }
        }
    }
    Ok(EvseStatusByIdResponse {
        evse_status_records: EvseStatusRecords {
            evse_status_record: records,
            extra: Extra::new(),
        },
        status_code: Some(StatusCode::success()),
        extra: Extra::new(),
    })
}

/// eRoamingPullEvseStatusByOperatorId.
pub async fn pull_evse_status_by_operator_id(
    ctx: Ctx,
    req: PullEvseStatusByOperatorId,
) -> Result<EvseStatusResponse, Failure> {
    check_body_provider(&ctx, &req.provider_id)?;
    if let Some(target) = live_pull_target(
        &ctx,
        Operation::PullEvseStatusByOperatorId,
        &req.operator_id,
    ) {
        return pull_live(
            &ctx,
            &target,
            Operation::PullEvseStatusByOperatorId,
            "",
            &req,
        )
        .await;
    }
    ctx.route_local("store");
    let visible = ctx.visible_operators();
    let operators = restrict(&req.operator_id, visible.as_deref());
    let mut list = if operators.is_empty() {
        Vec::new()
    } else {
        ctx.state
            .store
            .query_evse_status(Some(&operators), None, None)
            .await?
    };
    // Operators the node does not have itself come from the clearing house.
    let others: Vec<OperatorId> = req
        .operator_id
        .iter()
        .filter(|o| !is_direct_operator(&ctx, o))
        .cloned()
        .collect();
    if !others.is_empty() && ctx.hub_for_others(Operation::PullEvseStatusByOperatorId) {
        let body = PullEvseStatusByOperatorId {
            operator_id: others,
            ..req.clone()
        };
        if let Some(hub) = pull_from_hub::<_, EvseStatusResponse>(
            &ctx,
            Operation::PullEvseStatusByOperatorId,
            "",
            &body,
        )
        .await
        {
            merge_operators(&ctx, &mut list, hub.evse_statuses.operator_evse_status);
        }
    }
    Ok(status_response(list))
}

/// eRoamingPullPricingProductData (the `ProviderID` is only in the path).
pub async fn pull_pricing_products(
    ctx: Ctx,
    req: PullPricingProductData,
) -> Result<PricingProductDataResponse, Failure> {
    let provider = ctx.path_provider()?;
    if let Some(target) =
        live_pull_target(&ctx, Operation::PullPricingProductData, &req.operator_ids)
    {
        return pull_live(&ctx, &target, Operation::PullPricingProductData, "", &req).await;
    }
    ctx.route_local("store");
    let visible = ctx.visible_operators();
    let operators = restrict(&req.operator_ids, visible.as_deref());
    let data = ctx
        .state
        .store
        .query_pricing_products(&operators, &provider, req.last_call.as_ref())
        .await?;
    Ok(PricingProductDataResponse {
        pricing_product_data: data,
        status_code: Some(StatusCode::success()),
        extra: Extra::new(),
    })
}

/// eRoamingPullEVSEPricing.
pub async fn pull_evse_pricing(
    ctx: Ctx,
    req: PullEvsePricing,
) -> Result<EvsePricingResponse, Failure> {
    let provider = check_body_provider(&ctx, &req.provider_id)?;
    if let Some(target) = live_pull_target(&ctx, Operation::PullEvsePricing, &req.operator_ids) {
        return pull_live(&ctx, &target, Operation::PullEvsePricing, "", &req).await;
    }
    ctx.route_local("store");
    let visible = ctx.visible_operators();
    let operators = restrict(&req.operator_ids, visible.as_deref());
    let data = ctx
        .state
        .store
        .query_evse_pricing(&operators, &provider, req.last_call.as_ref())
        .await?;
    Ok(EvsePricingResponse {
        evse_pricing: data,
        status_code: Some(StatusCode::success()),
        extra: Extra::new(),
    })
}

/// eRoamingGetChargeDetailRecords, paged.
pub async fn get_charge_detail_records(
    ctx: Ctx,
    req: GetChargeDetailRecords,
) -> Result<ChargeDetailRecordPage, Failure> {
    let provider = check_body_provider(&ctx, &req.provider_id)?;
    ctx.route_local("store");
    let visible = ctx.visible_operators();
    let (page, size) = (ctx.page.page, ctx.page.size);
    let (records, total) = ctx
        .state
        .store
        .query_cdrs(Some(&provider), visible.as_deref(), &req, page, size)
        .await?;
    let pages = total.div_ceil(u64::from(size.max(1)));
    let number = u64::from(page);
    let to_int = |n: u64| Int::new(i64::try_from(n).unwrap_or(i64::MAX)).ok();
    Ok(ChargeDetailRecordPage {
        number_of_elements: to_int(records.len() as u64),
        content: records,
        number: to_int(number),
        size: to_int(u64::from(size)),
        total_elements: to_int(total),
        total_pages: to_int(pages),
        first: Some(number == 0),
        last: Some(number + 1 >= pages),
        status_code: Some(StatusCode::success()),
        extra: Extra::new(),
    })
}

/// eRoamingPushAuthenticationData: stored (for offline authorization of own CPOs) and, from
/// an own backend, sent to every CPO peer.
pub async fn push_authentication_data(
    ctx: Ctx,
    req: PushAuthenticationData,
) -> Result<Acknowledgement, Failure> {
    let provider = check_body_provider(&ctx, &req.provider_authentication_data.provider_id)?;
    for record in &req.provider_authentication_data.authentication_data_record {
        if let Some(evco) = record.identification.evco_id()
            && evco.provider_id() != provider
        {
            return Err(Failure::new(
                Code::InconsistentEvcoId,
                format!("EvcoID {evco} does not belong to provider {provider}"),
            ));
        }
    }
    if !ctx.called_by_backend() {
        ctx.require_hosts(Role::Cpo)?;
    }
    ctx.route_local("store");
    let records = &req.provider_authentication_data.authentication_data_record;
    let own = PartnerId::Provider(provider.clone());
    let outbox = ctx.fan_out(
        Operation::PushAuthenticationData,
        Role::Cpo,
        &own,
        &req,
        |_| true,
    )?;
    ctx.state
        .store
        .apply_auth_data(&provider, req.action_type.clone(), records, now(), &outbox)
        .await?;
    ctx.queued(&outbox);
    Ok(ack_success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_query() {
        let q = PageQuery::parse("page=2&size=5000&sort=lastUpdate%2Cdesc");
        assert_eq!((q.page, q.size), (2, 2000));
        assert_eq!(q.sort, Some(("lastUpdate".to_owned(), true)));
        let d = PageQuery::parse("");
        assert_eq!((d.page, d.size, d.sort), (0, 20, None));
        assert_eq!(PageQuery::parse("size=abc").size, 20);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("DE%2AGEF"), "DE*GEF");
        assert_eq!(percent_decode("DE*GEF"), "DE*GEF");
        assert_eq!(percent_decode("%2B49%2A536"), "+49*536");
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }
}
