//! Background delivery of messages the node has already acknowledged: pushes fanned out to
//! peers, CDRs and charging notifications forwarded to the EMP.
//!
//! Messages for one target go out **in order and one at a time** (OICP forbids overlapping
//! pushes, oicp-2.3.md §2.3); different targets proceed in parallel. Transport failures
//! (timeout, unreachable) are retried with exponential back-off; a business answer (`Result`
//! false) is final and recorded. The outcome of every delivery is recorded per target and shown
//! by the admin API.
//!
//! Status updates (`PushEvseStatus` with `update`) still queued for a target are merged into one
//! request, the latest status of each EVSE winning, so a burst of changes costs few requests.
//!
//! The queue lives in memory (a restart loses what is still queued); the durable outbox of
//! issue 5 replaces it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::evse_status::{EvseStatusRecord, OperatorEvseStatus, PushEvseStatus};
use crate::oicp::v23::ids::{EvseId, SessionId};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::wire::parse_forwarding;
use crate::peer::client::{CallError, OicpClient, Target};
use crate::store::Store;

/// Attempts per message before it is given up (recorded as failed).
const MAX_ATTEMPTS: u32 = 6;
/// First back-off; doubled after each failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Most status records merged into one `PushEvseStatus`.
const MAX_BATCH: usize = 1000;

/// One message to deliver.
#[derive(Debug, Clone)]
pub struct Job {
    /// Where to.
    pub target: Target,
    /// Path below the target's base URL.
    pub path: String,
    /// The JSON body.
    pub body: Arc<Vec<u8>>,
    /// Which operation (for the record).
    pub operation: Operation,
    /// Correlation ID of the request that caused it.
    pub process_id: String,
    /// For a `PushEvseStatus` `update`: the typed body, so that queued updates for the same
    /// target can be merged into one request (latest status per EVSE wins).
    pub status_update: Option<Arc<PushEvseStatus>>,
    /// Route `direct-then-clearing-house`: where the message goes instead when the target
    /// does not answer in time, cannot be reached or answers 310/320 (the clearing house).
    pub fallback: Option<Target>,
}

/// The last delivery to a target.
#[derive(Debug, Clone, Serialize)]
pub struct LastDelivery {
    /// Operation name.
    pub operation: &'static str,
    /// Whether the target accepted it.
    pub ok: bool,
    /// The target's status code or the transport failure.
    pub detail: String,
    /// When (RFC 3339).
    pub at: String,
}

/// Delivery figures of one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetRecord {
    /// Messages waiting or in flight.
    pub queued: u64,
    /// Messages the target accepted.
    pub delivered: u64,
    /// Messages the target refused or that could not be delivered.
    pub failed: u64,
    /// The most recent outcome.
    pub last: Option<LastDelivery>,
}

/// Per-target delivery records, keyed by `peer:DEGDF` / `backend:DEGEF`.
#[derive(Debug, Default)]
pub struct DeliveryLog {
    targets: Mutex<BTreeMap<String, TargetRecord>>,
}

impl DeliveryLog {
    fn update(&self, key: &str, f: impl FnOnce(&mut TargetRecord)) {
        let mut map = self
            .targets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(map.entry(key.to_owned()).or_default());
    }

    /// The record of one target.
    pub fn get(&self, key: &str) -> Option<TargetRecord> {
        self.targets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }
}

/// The key of a target in the log.
pub fn target_key(target: &Target) -> String {
    format!("{}:{}", target.kind.as_str(), target.id.canonical())
}

/// Handle to the delivery thread.
#[derive(Debug, Clone)]
pub struct Delivery {
    tx: mpsc::UnboundedSender<Job>,
    log: Arc<DeliveryLog>,
}

impl Delivery {
    /// Starts the delivery thread (its own actix system and HTTP client); it ends when every
    /// handle is dropped. A CDR the target accepted is marked forwarded in `store`.
    pub fn start(
        store: Store,
        hub: Option<crate::clearing_house::ClearingHouseClient>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let log = Arc::new(DeliveryLog::default());
        let thread_log = Arc::clone(&log);
        std::thread::Builder::new()
            .name("roambridge-delivery".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(dispatch(rx, thread_log, store, hub));
            })?;
        Ok(Self { tx, log })
    }

    /// Queues a message.
    pub fn send(&self, job: Job) {
        let key = target_key(&job.target);
        self.log.update(&key, |r| r.queued += 1);
        if self.tx.send(job).is_err() {
            tracing::error!(target = %key, "delivery thread is gone; message dropped");
        }
    }

    /// The delivery records.
    pub fn log(&self) -> &DeliveryLog {
        &self.log
    }
}

async fn dispatch(
    mut rx: mpsc::UnboundedReceiver<Job>,
    log: Arc<DeliveryLog>,
    store: Store,
    hub: Option<crate::clearing_house::ClearingHouseClient>,
) {
    let client = OicpClient::with_hub(hub.as_ref());
    let mut workers: HashMap<String, mpsc::UnboundedSender<Job>> = HashMap::new();
    while let Some(job) = rx.recv().await {
        let key = target_key(&job.target);
        let tx = workers.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let (client, log, store) = (client.clone(), Arc::clone(&log), store.clone());
            actix_web::rt::spawn(worker(key, rx, client, log, store));
            tx
        });
        if let Err(mpsc::error::SendError(job)) = tx.send(job) {
            tracing::error!(target = %target_key(&job.target), "delivery worker is gone; message dropped");
        }
    }
}

async fn worker(
    key: String,
    mut rx: mpsc::UnboundedReceiver<Job>,
    client: OicpClient,
    log: Arc<DeliveryLog>,
    store: Store,
) {
    let mut pending: VecDeque<Job> = VecDeque::new();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(job) => pending.push_back(job),
                None => break,
            }
        }
        while let Ok(job) = rx.try_recv() {
            pending.push_back(job);
        }
        let Some(first) = pending.pop_front() else {
            continue;
        };
        let (job, messages) = merge_status_updates(first, &mut pending);
        let span = tracing::info_span!(
            "deliver",
            operation = job.operation.name(),
            partner = %job.target.id,
            route = job.target.kind.as_str(),
            process_id = %job.process_id,
        );
        let _entered = span.enter();
        let outcome = deliver(&client, &job).await;
        let (ok, detail) = match &outcome {
            Ok(ack) if ack.result => (true, ack.status_code.code.to_string()),
            Ok(ack) => {
                let description = ack
                    .status_code
                    .description
                    .as_ref()
                    .map_or("", |d| d.as_str());
                (false, format!("{} {description}", ack.status_code.code))
            }
            Err(e) => (false, e.to_string()),
        };
        if ok {
            tracing::info!(code = %detail, "delivered");
            if job.operation == Operation::ChargeDetailRecord {
                mark_forwarded(&store, &job).await;
            }
        } else {
            tracing::warn!(detail = %detail, "delivery failed");
        }
        log.update(&key, |r| {
            r.queued = r.queued.saturating_sub(messages);
            if ok {
                r.delivered += messages;
            } else {
                r.failed += messages;
            }
            r.last = Some(LastDelivery {
                operation: job.operation.name(),
                ok,
                detail,
                at: chrono::Utc::now().to_rfc3339(),
            });
        });
    }
}

/// The `SessionID` of a CDR body.
#[derive(serde::Deserialize)]
struct CdrSession {
    #[serde(rename = "SessionID")]
    session_id: SessionId,
}

/// Records that a CDR reached its EMP (the `CDRForwarded` filter of `GetChargeDetailRecords`).
async fn mark_forwarded(store: &Store, job: &Job) {
    let result = match serde_json::from_slice::<CdrSession>(&job.body) {
        Ok(cdr) => store
            .mark_cdr_forwarded(&cdr.session_id)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "the CDR could not be marked as forwarded");
    }
}

fn mergeable(a: &Job, b: &Job) -> bool {
    match (&a.status_update, &b.status_update) {
        (Some(x), Some(y)) => {
            a.path == b.path
                && x.operator_evse_status.operator_id == y.operator_evse_status.operator_id
        }
        _ => false,
    }
}

/// Folds the status updates queued right behind `first` (same target and operator) into one
/// `PushEvseStatus` `update`, keeping the latest status of each EVSE; returns the job to send and
/// how many queued messages it stands for. Anything else stays queued, in order.
fn merge_status_updates(first: Job, pending: &mut VecDeque<Job>) -> (Job, u64) {
    let Some(update) = first.status_update.clone() else {
        return (first, 1);
    };
    if !pending.front().is_some_and(|next| mergeable(&first, next)) {
        return (first, 1);
    }
    let mut records: Vec<EvseStatusRecord> = update.operator_evse_status.evse_status_record.clone();
    let mut messages = 1;
    while records.len() < MAX_BATCH && pending.front().is_some_and(|next| mergeable(&first, next)) {
        if let Some(next) = pending.pop_front().and_then(|j| j.status_update) {
            records.extend(next.operator_evse_status.evse_status_record.iter().cloned());
            messages += 1;
        }
    }
    let mut position: HashMap<EvseId, usize> = HashMap::with_capacity(records.len());
    let mut latest: Vec<EvseStatusRecord> = Vec::with_capacity(records.len());
    for record in records {
        if let Some(&i) = position.get(&record.evse_id) {
            latest[i] = record;
        } else {
            position.insert(record.evse_id.clone(), latest.len());
            latest.push(record);
        }
    }
    let body = PushEvseStatus {
        action_type: ActionType::Update,
        operator_evse_status: OperatorEvseStatus {
            operator_id: update.operator_evse_status.operator_id.clone(),
            operator_name: update.operator_evse_status.operator_name.clone(),
            evse_status_record: latest,
            extra: update.operator_evse_status.extra.clone(),
        },
        extra: update.extra.clone(),
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => {
            let job = Job {
                body: Arc::new(bytes),
                status_update: Some(Arc::new(body)),
                ..first
            };
            (job, messages)
        }
        Err(e) => {
            tracing::error!(error = %e, "merging status updates failed; sending the first alone");
            (first, 1)
        }
    }
}

async fn deliver(client: &OicpClient, job: &Job) -> Result<Acknowledgement, CallError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    let mut target = &job.target;
    loop {
        let result = client
            .post(target, &job.path, &job.process_id, job.body.to_vec())
            .await;
        let outcome = match result {
            Ok((200, body)) => parse_forwarding::<Acknowledgement>(&body).map_err(|errors| {
                let first = errors.first().map(ToString::to_string).unwrap_or_default();
                CallError::InvalidResponse(job.target.id.to_string(), first)
            }),
            Ok((http, _)) => Err(CallError::Http {
                partner: job.target.id.to_string(),
                http,
                status: None,
            }),
            Err(e) => Err(e),
        };
        let retry = match &outcome {
            Err(e) => {
                e.is_transport()
                    || matches!(e, CallError::Http { http, .. } if *http >= 500 || *http == 408)
            }
            Ok(_) => false,
        };
        let unanswered = retry
            || outcome.as_ref().is_ok_and(|ack| {
                matches!(ack.status_code.code.as_str(), "310" | "320")
            });
        if unanswered && let Some(fallback) = job.fallback.as_ref().filter(|_| std::ptr::eq(target, &job.target)) {
            tracing::info!(from = %target.id, "no answer from the peer; falling back to the clearing house");
            target = fallback;
            continue;
        }
        if !retry || attempt >= MAX_ATTEMPTS {
            return outcome;
        }
        tracing::debug!(attempt, ?backoff, "delivery attempt failed, retrying");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{PartnerId, Role};
    use crate::oicp::v23::wire::parse;
    use crate::peer::client::TargetKind;

    fn target() -> Target {
        Target {
            kind: TargetKind::Peer,
            id: PartnerId::parse(Role::Emp, "DE-GDF").unwrap(),
            base_url: "http://127.0.0.1:1/api/oicp".into(),
            token: None,
            timeout: Duration::from_secs(1),
        }
    }

    fn status_job(n: usize) -> Job {
        let state = ["Available", "Occupied"][n % 2];
        let body = format!(
            r#"{{"ActionType":"update","OperatorEvseStatus":{{"OperatorID":"DE*GEF","EvseStatusRecord":[{{"EvseID":"DE*GEF*E{}*1","EvseStatus":"{state}"}}]}}}}"#,
            n % 10
        );
        let typed: PushEvseStatus = parse(body.as_bytes()).unwrap();
        Job {
            target: target(),
            path: "/evsepush/v21/operators/DE*GEF/status-records".into(),
            body: Arc::new(body.into_bytes()),
            operation: Operation::PushEvseStatus,
            process_id: format!("p{n}"),
            status_update: Some(Arc::new(typed)),
            fallback: None,
        }
    }

    #[test]
    fn queued_status_updates_coalesce_to_the_latest_per_evse() {
        let mut pending: VecDeque<Job> = (1..1000).map(status_job).collect();
        let (job, messages) = merge_status_updates(status_job(0), &mut pending);
        assert_eq!(messages, 1000);
        assert!(pending.is_empty());
        let body: PushEvseStatus = parse(&job.body).unwrap();
        let records = &body.operator_evse_status.evse_status_record;
        assert_eq!(records.len(), 10);
        // Changes 990..999 are the last for each EVSE: even n is Available, odd Occupied.
        for r in records {
            let n: usize = r.evse_id.as_str()[8..9].parse().unwrap();
            let expected = if n.is_multiple_of(2) {
                "Available"
            } else {
                "Occupied"
            };
            assert_eq!(r.evse_status.as_str(), expected, "{}", r.evse_id);
        }
    }

    #[test]
    fn other_messages_stay_in_order_behind_the_batch() {
        let mut other = status_job(5);
        other.status_update = None;
        let mut pending: VecDeque<Job> = VecDeque::from([status_job(1), other, status_job(2)]);
        let (job, messages) = merge_status_updates(status_job(0), &mut pending);
        assert_eq!(messages, 2);
        let body: PushEvseStatus = parse(&job.body).unwrap();
        assert_eq!(body.operator_evse_status.evse_status_record.len(), 2);
        assert_eq!(pending.len(), 2);
        assert!(pending[0].status_update.is_none());
    }
}
