//! Background delivery of messages the node has already acknowledged: pushes fanned out to
//! peers, CDRs and charging notifications forwarded to the EMP.
//!
//! Messages for one target go out **in order and one at a time** (OICP forbids overlapping
//! pushes, oicp-2.3.md §2.3); different targets proceed in parallel. Transport failures
//! (timeout, unreachable) are retried with exponential back-off; a business answer (`Result`
//! false) is final and recorded. The outcome of every delivery is recorded per target and shown
//! by the admin API.
//!
//! The queue lives in memory (a restart loses what is still queued); the durable outbox of
//! issue 5 replaces it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::wire::parse_forwarding;
use crate::peer::client::{CallError, OicpClient, Target};

/// Attempts per message before it is given up (recorded as failed).
const MAX_ATTEMPTS: u32 = 6;
/// First back-off; doubled after each failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

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
    /// handle is dropped.
    pub fn start() -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let log = Arc::new(DeliveryLog::default());
        let thread_log = Arc::clone(&log);
        std::thread::Builder::new()
            .name("roambridge-delivery".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(dispatch(rx, thread_log));
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

async fn dispatch(mut rx: mpsc::UnboundedReceiver<Job>, log: Arc<DeliveryLog>) {
    let client = OicpClient::new();
    let mut workers: HashMap<String, mpsc::UnboundedSender<Job>> = HashMap::new();
    while let Some(job) = rx.recv().await {
        let key = target_key(&job.target);
        let tx = workers.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            actix_web::rt::spawn(worker(key, rx, client.clone(), Arc::clone(&log)));
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
) {
    while let Some(job) = rx.recv().await {
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
        } else {
            tracing::warn!(detail = %detail, "delivery failed");
        }
        log.update(&key, |r| {
            r.queued = r.queued.saturating_sub(1);
            if ok {
                r.delivered += 1;
            } else {
                r.failed += 1;
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

async fn deliver(client: &OicpClient, job: &Job) -> Result<Acknowledgement, CallError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let result = client
            .post(&job.target, &job.path, &job.process_id, job.body.to_vec())
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
        if !retry || attempt >= MAX_ATTEMPTS {
            return outcome;
        }
        tracing::debug!(attempt, ?backoff, "delivery attempt failed, retrying");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}
