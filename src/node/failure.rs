//! The one place where the node's failures become OICP wire answers: a [`Failure`] carries the
//! OICP code, a safe description and the HTTP status; [`Negative`] builds each operation's
//! negative response body around it (Result false, `NotAuthorized`, or an empty page with the
//! status).
//!
//! HTTP statuses: 401 for a missing or unknown credential and for a caller acting for an ID it
//! is not bound to (as the HBS answers when an ID is not linked to the client certificate), 400
//! for a body that is not JSON or breaks off, 413 for a body above the node's limit, 200 for
//! everything else (business and data errors travel in the `StatusCode`, oicp-2.3.md §6.2).

use std::fmt::Write as _;

use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::authorization::{AuthorizationStart, AuthorizationStatus, AuthorizationStop};
use crate::oicp::v23::cdr::ChargeDetailRecordPage;
use crate::oicp::v23::evse_data::EvseDataPage;
use crate::oicp::v23::evse_status::{
    EvseStatusByIdResponse, EvseStatusRecords, EvseStatusResponse, EvseStatuses,
};
use crate::oicp::v23::pricing::{EvsePricingResponse, PricingProductDataResponse};
use crate::oicp::v23::status::{Code, StatusCode};
use crate::oicp::v23::validate::{ValidationError, response_code};
use crate::oicp::v23::wire::Extra;
use crate::peer::client::CallError;
use crate::store::StoreError;

/// At most this many validation errors are spelled out in `AdditionalInfo`.
const MAX_LISTED_ERRORS: usize = 10;

/// A request that cannot be answered positively.
#[derive(Debug, Clone)]
pub struct Failure {
    /// HTTP status of the answer.
    pub http: u16,
    /// The OICP status.
    pub status: StatusCode,
}

impl Failure {
    /// A failure with `code` and a description of our own, HTTP 200.
    pub fn new(code: Code, description: impl AsRef<str>) -> Self {
        Self {
            http: 200,
            status: StatusCode::with_description(code, description.as_ref()),
        }
    }

    /// 017 with HTTP 401: missing or unknown credential, or an ID the caller is not bound to.
    pub fn unauthorized(description: impl AsRef<str>) -> Self {
        Self {
            http: 401,
            status: StatusCode::with_description(Code::UnauthorizedAccess, description.as_ref()),
        }
    }

    /// 022 with HTTP 413: a body larger than the node accepts (`limit` bytes).
    pub fn too_large(limit: usize) -> Self {
        Self {
            http: 413,
            status: StatusCode::with_description(
                Code::DataError,
                &format!("the request body is larger than {limit} bytes"),
            ),
        }
    }

    /// 022 with HTTP 400: a body that broke off before its end (read like a body that is not
    /// valid JSON).
    pub fn unreadable() -> Self {
        Self {
            http: 400,
            status: StatusCode::with_description(
                Code::DataError,
                "the request body could not be read",
            ),
        }
    }

    /// 210: no peer or party for an ID (answered locally, no network call).
    pub fn no_route(description: impl AsRef<str>) -> Self {
        Self::new(Code::NoValidContract, description)
    }

    /// 022 for a request that failed validation, listing the first errors with their paths.
    pub fn invalid(errors: &[ValidationError]) -> Self {
        let syntax = errors.len() == 1
            && errors[0].path == "$"
            && errors[0].message.starts_with("not valid JSON");
        let code = response_code(errors);
        let mut status = StatusCode::with_description(
            code,
            if syntax {
                "the request body is not valid JSON"
            } else {
                "the request failed validation"
            },
        );
        let listed: Vec<String> = errors
            .iter()
            .take(MAX_LISTED_ERRORS)
            .map(ToString::to_string)
            .collect();
        let mut info = listed.join("; ");
        if errors.len() > MAX_LISTED_ERRORS {
            let _ = write!(info, "; and {} more", errors.len() - MAX_LISTED_ERRORS);
        }
        status.additional_info = Some(crate::oicp::v23::scalars::Text::truncated(&info));
        Self {
            http: if syntax { 400 } else { 200 },
            status,
        }
    }

    /// The code.
    pub fn code(&self) -> &Code {
        &self.status.code
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        Self {
            http: 200,
            status: e.status_code(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyExists { .. }
            | StoreError::NotFound { .. }
            | StoreError::Conflict(_) => Self::new(Code::DataError, e.to_string()),
            other => {
                // The cause goes to the log, never to the partner.
                tracing::error!(error = %other, "store failure");
                Self::new(Code::SystemError, "the node could not store the request")
            }
        }
    }
}

/// The status code carried by a response (for the route log and fallback decisions).
pub trait HasStatus {
    /// The code, if the response carries a status.
    fn code(&self) -> Option<&Code>;
}

macro_rules! has_status {
    (direct: $($t:ty),*) => { $(impl HasStatus for $t { fn code(&self) -> Option<&Code> { Some(&self.status_code.code) } })* };
    (optional: $($t:ty),*) => { $(impl HasStatus for $t { fn code(&self) -> Option<&Code> { self.status_code.as_ref().map(|s| &s.code) } })* };
}

has_status!(direct: Acknowledgement, AuthorizationStart, AuthorizationStop);
has_status!(optional: EvseDataPage, ChargeDetailRecordPage, EvseStatusResponse, EvseStatusByIdResponse, PricingProductDataResponse, EvsePricingResponse);

/// An operation's negative response around a status.
pub trait Negative {
    /// The body answering `status` (never `000`).
    fn negative(status: StatusCode) -> Self;
}

impl Negative for Acknowledgement {
    fn negative(status: StatusCode) -> Self {
        Self::with_status(false, status)
    }
}

impl Negative for AuthorizationStart {
    fn negative(status: StatusCode) -> Self {
        Self {
            session_id: None,
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            provider_id: None,
            authorization_status: AuthorizationStatus::NotAuthorized,
            status_code: status,
            authorization_stop_identifications: None,
            extra: Extra::new(),
        }
    }
}

impl Negative for AuthorizationStop {
    fn negative(status: StatusCode) -> Self {
        Self {
            session_id: None,
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            provider_id: None,
            authorization_status: AuthorizationStatus::NotAuthorized,
            status_code: status,
            extra: Extra::new(),
        }
    }
}

/// The two paged answers (`PullEvseData`, `GetChargeDetailRecords`) share their shape: an empty
/// page with the status.
macro_rules! negative_page {
    ($($page:ty),*) => {$(
        impl Negative for $page {
            fn negative(status: StatusCode) -> Self {
                Self {
                    content: Vec::new(),
                    number: None,
                    size: None,
                    total_elements: None,
                    total_pages: None,
                    number_of_elements: None,
                    first: None,
                    last: None,
                    status_code: Some(status),
                    extra: Extra::new(),
                }
            }
        }
    )*};
}

negative_page!(EvseDataPage, ChargeDetailRecordPage);

impl Negative for EvseStatusResponse {
    fn negative(status: StatusCode) -> Self {
        Self {
            evse_statuses: EvseStatuses {
                operator_evse_status: Vec::new(),
                extra: Extra::new(),
            },
            status_code: Some(status),
            extra: Extra::new(),
        }
    }
}

impl Negative for EvseStatusByIdResponse {
    fn negative(status: StatusCode) -> Self {
        Self {
            evse_status_records: EvseStatusRecords {
                evse_status_record: Vec::new(),
                extra: Extra::new(),
            },
            status_code: Some(status),
            extra: Extra::new(),
        }
    }
}

impl Negative for PricingProductDataResponse {
    fn negative(status: StatusCode) -> Self {
        Self {
            pricing_product_data: Vec::new(),
            status_code: Some(status),
            extra: Extra::new(),
        }
    }
}

impl Negative for EvsePricingResponse {
    fn negative(status: StatusCode) -> Self {
        Self {
            evse_pricing: Vec::new(),
            status_code: Some(status),
            extra: Extra::new(),
        }
    }
}
