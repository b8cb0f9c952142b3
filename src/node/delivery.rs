//! The node's background sender: delivers what the durable outbox holds (`store::outbox`):
//! pushes fanned out to peers, CDRs and charging notifications forwarded to the EMP.
//!
//! # How it runs
//! One thread with its own actix system and HTTP client. A dispatcher finds the targets with
//! pending messages (at start, so everything left by a previous run or a crash is resumed; on
//! every enqueue; and every second, so messages retried by the CLI while the node runs are
//! picked up) and runs **one worker per target**. A worker sends its target's messages in
//! order and one at a time (OICP forbids overlapping pushes, oicp-2.3.md §2.3; one queue per
//! target is stricter than one per peer and operation), each to the address and with the token
//! the registry has for the target at that moment.
//!
//! # Outcomes
//! * **Accepted** (`Result` true): the message is deleted from the outbox (a CDR is marked
//!   forwarded in the same transaction). Delivery is at least once: a crash between the answer
//!   and the delete sends it again, and receivers deduplicate (CDRs by `SessionID`, statuses by
//!   `EvseID`).
//! * **Not answered** (timeout, unreachable, HTTP 408, 429 or 5xx, or an acknowledgement with
//!   310/320, which says the receiver itself could not reach the party behind it): a message
//!   with a fallback (route `direct-then-clearing-house`) is handed over to the clearing
//!   house's queue at once (once per identical message: a push falling back for several peers
//!   reaches the clearing house once, in order with its other messages); otherwise it is
//!   retried with exponential back-off and jitter (0.25–0.5 s, then doubling up to
//!   `[delivery] max_backoff_s`), the target's later messages waiting behind it.
//! * **Refused** (`Result` false with any other code, any other HTTP status, or an answer that
//!   is not an acknowledgement): final. The message moves to the dead-letter list at once, with
//!   the receiver's code and description, and the target's next message goes out.
//! * **Too old**: a message still undelivered `[delivery] dead_letter_after_s` after it was
//!   queued moves to the dead-letter list. This is also the fate of messages for a target
//!   that is no longer registered (a removed peer, an own party without backend): they wait,
//!   untried, until they are that old.
//!
//! Dead letters are listed, retried and dropped with `GET /admin/outbox?state=dead`,
//! `POST /admin/outbox/{id}/retry`, `DELETE /admin/outbox/{id}` or `roambridge outbox`.
//!
//! # Status refresh
//! With `[delivery] status_refresh_s` set, every that many seconds each own CPO's stored
//! statuses are queued as a `fullLoad` `eRoamingPushEvseStatus` for every EMP peer (the daily
//! status `fullLoad` of the best practice, oicp-2.3.md §2.3), repairing whatever a receiver
//! lost or a dead letter left out.
//!
//! # The delivery log
//! Per target, in memory: messages queued, delivered and failed (moved to the dead-letter list)
//! since the node started, dead letters stored, and the last outcome; shown by
//! `GET /admin/peers`. A batch of coalesced status updates counts one message per EVSE.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::watch;

use tracing::Instrument as _;

use super::NodeState;
use crate::config::{DeliveryConfig, PartnerId, Role};
use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::wire::parse_forwarding;
use crate::peer::client::{OicpClient, Target, TargetKind, fill_path};
use crate::peer::registry::Registry;
use crate::store::{OutboxEntry, OutboxItem, TargetRef};

/// How often the dispatcher and idle workers look at the outbox without being woken.
const POLL: Duration = Duration::from_secs(1);
/// How long a worker waits before reading its queue when it was woken from idle, or when the
/// batch of status updates it just delivered was smaller than [`FULL_BATCH`], so that changes
/// arriving together go out in one request (status updates are coalesced per batch). Under a
/// steady stream of pushes this makes batches larger and requests to peers fewer (about 150
/// records per request instead of 15 at 15,000 pushes/s, which cut the fan-out's CPU per push
/// by about a sixth in `examples/load_fanout.rs`: every request costs both nodes an HTTP
/// exchange, a queue read, a store write); it adds at most this much to a delivery's latency
/// and nothing to the answer the pushing backend gets.
const LINGER: Duration = Duration::from_millis(10);
/// A batch of status updates at least this large is followed by the next one at once: the
/// queue is filling faster than a linger would help.
const FULL_BATCH: u64 = 200;
/// The dispatcher reads the list of outbox targets at most this often when woken by new
/// messages (every push wakes it); its workers run on their own meanwhile.
const DISPATCH_EVERY: Duration = Duration::from_millis(20);
/// The first back-off; doubled after each failed attempt up to `max_backoff_s`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The last delivery to a target.
#[derive(Debug, Clone, Serialize)]
pub struct LastDelivery {
    /// Operation name.
    pub operation: &'static str,
    /// Whether the target accepted it.
    pub ok: bool,
    /// The target's status code, the refusal, or the transport failure.
    pub detail: String,
    /// When (RFC 3339).
    pub at: String,
}

/// Delivery figures of one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetRecord {
    /// Messages waiting or in flight (refreshed from the outbox every second).
    pub queued: u64,
    /// Messages the target accepted since the node started.
    pub delivered: u64,
    /// Messages moved to the dead-letter list since the node started (refused or too old).
    pub failed: u64,
    /// Dead letters of this target in the outbox (refreshed every second).
    pub dead: u64,
    /// Failed attempts in a row of the message at the head of the queue (0 when the last
    /// attempt succeeded).
    pub retrying: u32,
    /// Messages handed over to the fallback (the clearing house) since the node started.
    pub handed_over: u64,
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

#[derive(Debug)]
struct Inner {
    log: DeliveryLog,
    wake: watch::Sender<u64>,
    settings: DeliveryConfig,
}

/// Handle to the delivery thread.
#[derive(Debug, Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

impl Delivery {
    /// A handle; nothing is sent until [`Delivery::start`].
    pub fn new(settings: DeliveryConfig) -> Self {
        let (wake, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                log: DeliveryLog::default(),
                wake,
                settings,
            }),
        }
    }

    /// Starts the delivery thread (its own actix system and HTTP client) for the node's state;
    /// it resumes whatever the outbox holds and ends within a second of the state being
    /// dropped.
    pub fn start(&self, state: Weak<NodeState>) -> std::io::Result<()> {
        let inner = Arc::clone(&self.inner);
        std::thread::Builder::new()
            .name("roambridge-delivery".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(dispatch(state, inner));
            })?;
        Ok(())
    }

    /// Tells the log and the workers that `entries` were committed to the outbox.
    pub fn queued(&self, entries: &[OutboxEntry]) {
        for entry in entries {
            self.inner
                .log
                .update(&entry.target.key(), |r| r.queued += 1);
        }
        if !entries.is_empty() {
            self.wake();
        }
    }

    /// Wakes the workers (after a retry through the admin API).
    pub fn wake(&self) {
        self.inner.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The delivery records.
    pub fn log(&self) -> &DeliveryLog {
        &self.inner.log
    }
}

async fn dispatch(state: Weak<NodeState>, inner: Arc<Inner>) {
    let Some(hub) = state.upgrade().map(|node| node.hub.clone()) else {
        return;
    };
    let client = OicpClient::with_hub(hub.as_ref());
    let mut wake = inner.wake.subscribe();
    let mut workers: HashMap<TargetRef, actix_web::rt::task::JoinHandle<()>> = HashMap::new();
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refresh = inner.settings.status_refresh.map(|period| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let mut last_scan = tokio::time::Instant::now() - DISPATCH_EVERY;
    loop {
        let refresh_due = tokio::select! {
            _ = wake.changed() => false,
            _ = poll.tick() => false,
            () = async {
                match refresh.as_mut() {
                    Some(r) => { r.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => true,
        };
        let Some(mut node) = state.upgrade() else {
            return;
        };
        if refresh_due {
            queue_status_refresh(&node).await;
            inner.wake.send_modify(|n| *n = n.wrapping_add(1));
        }
        // Workers never stop; the dispatcher only has to start one for a new target. Wakes
        // come with every push: coalesce them instead of reading the targets each time.
        let since = last_scan.elapsed();
        if since < DISPATCH_EVERY {
            drop(node);
            tokio::time::sleep(DISPATCH_EVERY.saturating_sub(since)).await;
            let Some(again) = state.upgrade() else {
                return;
            };
            node = again;
        }
        last_scan = tokio::time::Instant::now();
        match node.store.outbox_targets().await {
            Ok(targets) => {
                for target in targets {
                    if workers.get(&target).is_some_and(|w| !w.is_finished()) {
                        continue;
                    }
                    let handle = actix_web::rt::spawn(worker(
                        target.clone(),
                        state.clone(),
                        Arc::clone(&inner),
                        client.clone(),
                    ));
                    workers.insert(target, handle);
                }
            }
            Err(e) => tracing::error!(error = %e, "reading the outbox failed"),
        }
    }
}

/// Queues a `fullLoad` of each own CPO's stored statuses for every EMP peer.
async fn queue_status_refresh(node: &NodeState) {
    let targets: Vec<TargetRef> = node
        .registry
        .peers(Role::Emp)
        .iter()
        .map(|p| TargetRef::peer(p.id.clone()))
        .collect();
    if targets.is_empty() {
        return;
    }
    for party in node.registry.own(Role::Cpo) {
        let PartnerId::Operator(operator) = &party.id else {
            continue;
        };
        let path = fill_path(Operation::PushEvseStatus.path_template(), operator.as_str());
        let process_id = uuid::Uuid::new_v4().to_string();
        match node
            .store
            .enqueue_status_refresh(operator, &targets, &path, &process_id, Utc::now())
            .await
        {
            Ok(0) => tracing::debug!(%operator, "no stored status to refresh"),
            Ok(records) => {
                tracing::info!(%operator, records, peers = targets.len(), %process_id, "status refresh queued");
                for t in &targets {
                    node.delivery.log().update(&t.key(), |r| r.queued += 1);
                }
            }
            Err(e) => tracing::error!(%operator, error = %e, "queuing the status refresh failed"),
        }
    }
}

/// How to call a target now, from the registry and the clearing house configuration.
fn resolve(node: &NodeState, target: &TargetRef) -> Option<Target> {
    let registry = &node.registry;
    match target.kind {
        TargetKind::Peer => registry.peer(&target.id).map(|p| Registry::peer_target(&p)),
        TargetKind::Backend => registry
            .party(&target.id)
            .and_then(|p| registry.backend_target(p)),
        TargetKind::Hub => node.hub.as_ref().map(|hub| Target {
            kind: TargetKind::Hub,
            id: target.id.clone(),
            base_url: hub.base_url().to_owned(),
            token: None,
            timeout: hub.timeout(),
        }),
    }
}

/// What became of one attempt.
#[derive(Debug)]
enum Outcome {
    /// `Result` true, with the status code.
    Accepted(String),
    /// Final: `Result` false, an HTTP status not worth retrying, or not an acknowledgement.
    Refused(String),
    /// Worth retrying: timeout, unreachable, HTTP 408, 429, 5xx, or 310/320 from the receiver.
    Transient(String),
}

async fn attempt(client: &OicpClient, target: &Target, item: &OutboxItem) -> Outcome {
    let result = client
        .post(target, &item.path, &item.process_id, item.body.clone())
        .await;
    match result {
        Ok((200, body)) => match parse_forwarding::<Acknowledgement>(&body) {
            Ok(ack) => {
                let code = ack.status_code.code.to_string();
                let description = ack
                    .status_code
                    .description
                    .as_ref()
                    .map_or("", |d| d.as_str());
                let detail = format!("{code} {description}").trim_end().to_owned();
                if ack.result {
                    Outcome::Accepted(code)
                } else if matches!(code.as_str(), "310" | "320") {
                    Outcome::Transient(detail)
                } else {
                    Outcome::Refused(detail)
                }
            }
            Err(errors) => {
                let first = errors.first().map(ToString::to_string).unwrap_or_default();
                Outcome::Refused(format!("the answer is not an acknowledgement: {first}"))
            }
        },
        Ok((http, _)) if http == 408 || http == 429 || http >= 500 => {
            Outcome::Transient(format!("HTTP {http}"))
        }
        Ok((http, body)) => {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["StatusCode"]["Code"].as_str().map(str::to_owned));
            Outcome::Refused(match code {
                Some(code) => format!("HTTP {http}, code {code}"),
                None => format!("HTTP {http}"),
            })
        }
        Err(e) => Outcome::Transient(e.to_string()),
    }
}

/// The back-off before attempt `failures + 1`: exponential, capped, with jitter (a random
/// point in the upper half).
fn backoff(failures: u32, max: Duration) -> Duration {
    let exp = FIRST_BACKOFF.saturating_mul(1_u32 << failures.saturating_sub(1).min(16));
    let full = exp.min(max);
    let random = uuid::Uuid::new_v4().as_u128();
    #[expect(
        clippy::cast_precision_loss,
        reason = "a jitter factor needs no more than 53 bits"
    )]
    let unit = (random % 1_000_000) as f64 / 1_000_000.0;
    full.mul_f64(0.5 + unit / 2.0)
}

/// Waits for a wake-up or the poll period.
async fn idle(wake: &mut watch::Receiver<u64>, period: Duration) {
    tokio::select! {
        _ = wake.changed() => {}
        () = tokio::time::sleep(period) => {}
    }
}

fn record_last(log: &DeliveryLog, key: &str, op: Operation, ok: bool, detail: String) {
    log.update(key, |r| {
        r.last = Some(LastDelivery {
            operation: op.name(),
            ok,
            detail,
            at: Utc::now().to_rfc3339(),
        });
    });
}

/// Moves the target's messages older than `too_old` to the dead-letter list.
async fn expire(
    node: &NodeState,
    target: &TargetRef,
    key: &str,
    log: &DeliveryLog,
    too_old: chrono::Duration,
    reason: &str,
) {
    let now = Utc::now();
    let cutoff = now
        .checked_sub_signed(too_old)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    match node.store.outbox_expire(target, cutoff, reason, now).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::warn!(target = %key, messages = n, "{reason}: moved to the dead-letter list");
            log.update(key, |r| {
                r.failed += n;
                r.queued = r.queued.saturating_sub(n);
            });
        }
        Err(e) => tracing::error!(target = %key, error = %e, "expiring old messages failed"),
    }
}

/// Delivers the messages of one target, in order, until the node's state is gone.
async fn worker(target: TargetRef, state: Weak<NodeState>, inner: Arc<Inner>, client: OicpClient) {
    let key = target.key();
    let log = &inner.log;
    let settings = &inner.settings;
    let too_old =
        chrono::Duration::from_std(settings.dead_letter_after).unwrap_or(chrono::Duration::MAX);
    let reason = format!(
        "undelivered after {} s",
        settings.dead_letter_after.as_secs()
    );
    let mut wake = inner.wake.subscribe();
    let mut failures: u32 = 0;
    let mut counted: Option<tokio::time::Instant> = None;
    loop {
        let Some(node) = state.upgrade() else {
            return;
        };
        // Expiry and the counts are bookkeeping: once per poll period, not per message.
        if counted.is_none_or(|at| at.elapsed() >= POLL) {
            counted = Some(tokio::time::Instant::now());
            expire(&node, &target, &key, log, too_old, &reason).await;
            if let Ok((pending, dead)) = node.store.outbox_counts(&target).await {
                log.update(&key, |r| {
                    r.queued = pending;
                    r.dead = dead;
                });
            }
        }
        let item = match node.store.outbox_next(&target).await {
            Ok(item) => item,
            Err(e) => {
                tracing::error!(target = %key, error = %e, "reading the outbox failed");
                drop(node);
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        let Some(item) = item else {
            log.update(&key, |r| r.queued = 0);
            drop(node);
            idle(&mut wake, POLL).await;
            tokio::time::sleep(LINGER).await;
            continue;
        };
        let Some(resolved) = resolve(&node, &target) else {
            log.update(&key, |r| {
                if r.last.as_ref().is_none_or(|l| l.ok) {
                    r.last = Some(LastDelivery {
                        operation: item.operation.name(),
                        ok: false,
                        detail: format!("{} is not registered; messages wait", target.display()),
                        at: Utc::now().to_rfc3339(),
                    });
                }
            });
            drop(node);
            idle(&mut wake, POLL).await;
            continue;
        };
        let span = tracing::info_span!(
            "deliver",
            operation = item.operation.name(),
            partner = %target.id,
            route = target.kind.as_str(),
            process_id = %item.process_id,
            messages = item.messages(),
        );
        let step = deliver(
            &node,
            &client,
            &inner,
            &key,
            &resolved,
            &item,
            &mut failures,
        )
        .instrument(span)
        .await;
        drop(node);
        if let Some(wait) = step {
            tokio::time::sleep(wait).await;
        } else if item.id().is_none() && item.messages() < FULL_BATCH {
            tokio::time::sleep(LINGER).await;
        }
    }
}

/// Sends one item (to its fallback too when the target does not answer) and records the
/// outcome; returns the back-off to wait before the next attempt, if any.
async fn deliver(
    node: &NodeState,
    client: &OicpClient,
    inner: &Inner,
    key: &str,
    target: &Target,
    item: &OutboxItem,
    failures: &mut u32,
) -> Option<Duration> {
    let log = &inner.log;
    let settings = &inner.settings;
    tracing::debug!(outbox_id = ?item.id(), "sending");
    let outcome = match super::ocpi::cpo::push::deliver(node, &item.target, item).await {
        Some(super::ocpi::cpo::push::Outcome::Accepted(d)) => Outcome::Accepted(d),
        Some(super::ocpi::cpo::push::Outcome::Refused(d)) => Outcome::Refused(d),
        Some(super::ocpi::cpo::push::Outcome::Transient(d)) => Outcome::Transient(d),
        None => attempt(client, target, item).await,
    };
    let messages = item.messages();
    if let Outcome::Transient(detail) = &outcome
        && let Some(fallback) = item
            .fallback
            .as_ref()
            .filter(|f| resolve(node, f).is_some())
    {
        *failures = 0;
        match node
            .store
            .outbox_hand_over(item, fallback, settings.dead_letter_after, Utc::now())
            .await
        {
            Ok(queued) => {
                tracing::info!(detail = %detail, to = %fallback.display(), queued, "no answer; handed over to the clearing house");
                inner.wake.send_modify(|n| *n = n.wrapping_add(1));
                log.update(key, |r| {
                    r.handed_over += messages;
                    r.queued = r.queued.saturating_sub(messages);
                    r.retrying = 0;
                });
                record_last(
                    log,
                    key,
                    item.operation,
                    false,
                    format!("{detail}; handed over to {}", fallback.display()),
                );
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "handing a message over to the clearing house failed");
            }
        }
    }
    match outcome {
        Outcome::Accepted(code) => {
            *failures = 0;
            tracing::info!(code = %code, "delivered");
            if let Err(e) = node.store.outbox_delivered(item).await {
                tracing::error!(error = %e, "removing a delivered message failed; it will be sent again");
            }
            log.update(key, |r| {
                r.delivered += messages;
                r.queued = r.queued.saturating_sub(messages);
                r.retrying = 0;
            });
            record_last(log, key, item.operation, true, code);
            None
        }
        Outcome::Refused(detail) => {
            *failures = 0;
            tracing::warn!(detail = %detail, "refused: moved to the dead-letter list");
            kill(node, log, key, item, detail).await;
            None
        }
        Outcome::Transient(detail) => {
            *failures = failures.saturating_add(1);
            let now = Utc::now();
            let too_old = chrono::Duration::from_std(settings.dead_letter_after)
                .unwrap_or(chrono::Duration::MAX);
            if now - item.queued_at >= too_old {
                *failures = 0;
                let error = format!(
                    "undelivered after {} s; last error: {detail}",
                    settings.dead_letter_after.as_secs()
                );
                tracing::warn!(detail = %detail, "too old: moved to the dead-letter list");
                kill(node, log, key, item, error).await;
                return None;
            }
            let wait = backoff(*failures, settings.max_backoff);
            tracing::info!(detail = %detail, attempt = *failures, retry_in = ?wait, "delivery failed, will retry");
            let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
            if let Err(e) = node.store.outbox_attempt_failed(item, &detail, next).await {
                tracing::error!(error = %e, "recording a failed attempt failed");
            }
            let failed = *failures;
            log.update(key, |r| r.retrying = failed);
            record_last(log, key, item.operation, false, detail);
            Some(wait)
        }
    }
}

/// Moves an item to the dead-letter list and records it.
async fn kill(node: &NodeState, log: &DeliveryLog, key: &str, item: &OutboxItem, error: String) {
    if let Err(e) = node.store.outbox_kill(item, &error, Utc::now()).await {
        tracing::error!(error = %e, "moving a message to the dead-letter list failed");
    }
    let messages = item.messages();
    log.update(key, |r| {
        r.failed += messages;
        r.queued = r.queued.saturating_sub(messages);
        r.dead += 1;
        r.retrying = 0;
    });
    record_last(log, key, item.operation, false, error);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let max = Duration::from_mins(1);
        for failures in 1..40 {
            let full = FIRST_BACKOFF
                .saturating_mul(1 << (failures - 1).min(16))
                .min(max);
            let wait = backoff(failures, max);
            assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?}");
        }
        assert!(backoff(1, max) <= Duration::from_millis(500));
        assert!(backoff(30, max) >= Duration::from_secs(30));
        assert!(backoff(30, Duration::from_secs(2)) <= Duration::from_secs(2));
    }
}
