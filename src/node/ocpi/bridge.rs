//! Synchronous OICP operations whose partner is an OCPI peer.
//!
//! The OICP routing ([`crate::node::ops`]) picks a target for each request the same way for
//! every peer; when the chosen peer has `protocol = "ocpi"`, [`call`] is used instead of an OICP
//! HTTP call. Each operation that has an OCPI form translates the OICP request (through
//! `crate::mapping`), performs the OCPI exchange and translates the answer back into the OICP
//! answer type the caller expects. Operations without an OCPI form are refused with OICP 210
//! ("no valid contract"), the same answer as for a partner the node does not know, so a backend
//! never sees an OICP call go out to a URL that does not speak OICP.
//!
//! Operations with an OCPI form: `AuthorizeStart` becomes real-time authorization at the
//! eMSP and `AuthorizeStop` is answered locally ([`super::cpo::authorize`]); the four remote
//! operations (`AuthorizeRemoteStart`/`Stop`, `AuthorizeRemoteReservationStart`/`Stop`) become
//! OCPI commands ([`super::emsp::commands`]).
//!
//! Pushes (EVSE data, status, pricing, notifications, CDRs) do not come here: they go through
//! the durable outbox and [`super::cpo::push`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Peer;
use crate::node::failure::Failure;
use crate::node::ops::Ctx;
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::status::Code;

/// Performs `op` with the OCPI peer `peer` on behalf of the request in `ctx`.
///
/// Operations get their OCPI form by adding an arm here (translate `body`, call the partner,
/// translate the answer with [`answer`]).
pub async fn call<Req, Resp>(
    ctx: &Ctx,
    peer: &Peer,
    op: Operation,
    body: &Req,
) -> Result<Resp, Failure>
where
    Req: Serialize,
    Resp: DeserializeOwned,
{
    match op {
        Operation::AuthorizeStart => {
            let answer =
                super::cpo::authorize::authorize_start(ctx, peer, &request(op, body)?).await?;
            self::answer(op, &answer)
        }
        Operation::AuthorizeStop => {
            let answer =
                super::cpo::authorize::authorize_stop(ctx, peer, &request(op, body)?).await?;
            self::answer(op, &answer)
        }
        // Remote start/stop and reservations: OCPI commands.
        op if super::emsp::commands::handles(op) => {
            super::emsp::commands::send(ctx, peer, op, body).await
        }
        _ => Err(unsupported(op, peer)),
    }
}

/// The OICP request the caller of [`call`] passed, as its typed form.
pub fn request<Req: Serialize, T: DeserializeOwned>(
    op: Operation,
    body: &Req,
) -> Result<T, Failure> {
    retype(body).map_err(|e| {
        Failure::new(
            Code::SystemError,
            format!("{op} does not form its OICP request: {e}"),
        )
    })
}

/// The refusal of an operation without an OCPI form.
pub fn unsupported(op: Operation, peer: &Peer) -> Failure {
    Failure::no_route(format!(
        "{op} has no OCPI form: it cannot be sent to the OCPI partner {}",
        peer.id
    ))
}

/// A typed OICP answer as the type the caller of [`call`] expects (the same OICP type,
/// through JSON).
pub fn answer<T: Serialize, Resp: DeserializeOwned>(
    op: Operation,
    value: &T,
) -> Result<Resp, Failure> {
    retype(value).map_err(|e| {
        Failure::new(
            Code::SystemError,
            format!("the OCPI answer to {op} does not form an OICP answer: {e}"),
        )
    })
}

/// `value` as the type `T` of the same JSON: the one conversion behind [`request`] and
/// [`answer`], between the generic types of [`call`] and the typed OICP messages.
fn retype<V: Serialize, T: DeserializeOwned>(value: &V) -> Result<T, serde_json::Error> {
    serde_json::to_value(value).and_then(serde_json::from_value)
}
