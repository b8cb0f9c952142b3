//! The one place where OCPI failures become HTTP statuses and OCPI status codes
//! (ocpi-2.2.1.md §2), for the OCPI server and for what the admin API reports of a handshake.
//!
//! | failure | HTTP | OCPI |
//! |---|---|---|
//! | [`OcpiError::Unauthorized`]: no, malformed or unknown `Authorization` | 401 | 2000 |
//! | [`OcpiError::BadJson`]: the body is not JSON | 400 | 2000 |
//! | [`OcpiError::NotFound`]: an unknown object or URL | 404 | 2000 |
//! | [`OcpiError::UnknownParty`]: `OCPI-to-*` names no party of ours, or a URL party is not the client's | 404 | 2001 |
//! | [`OcpiError::MethodNotAllowed`]: credentials POST when registered, PUT/DELETE when not | 405 | 2000 |
//! | [`OcpiError::Invalid`]: the body breaks the model (JSON paths in `status_message`) | 200 | 2001 |
//! | [`OcpiError::InvalidParameter`]: a query parameter or URL id is wrong | 200 | 2001 |
//! | [`OcpiError::NotEnoughInformation`] | 200 | 2002 |
//! | [`OcpiError::UnknownLocation`] | 200 | 2003 |
//! | [`OcpiError::NoSuchLocation`]: a GET of a Location, EVSE or connector we do not have | 404 | 2003 |
//! | [`OcpiError::UnknownToken`] | 404 | 2004 |
//! | [`OcpiError::PartnerUnusable`]: the partner's versions or details could not be read | 200 | 3001 |
//! | [`OcpiError::UnsupportedVersion`]: no 2.2.1 in the partner's versions | 200 | 3002 |
//! | [`OcpiError::MissingEndpoints`]: the partner lacks an endpoint we need | 200 | 3003 |
//! | [`OcpiError::Internal`]: our store or another fault of ours (details only logged) | 500 | 3000 |
//!
//! Decisions where the spec is silent: an internal fault answers HTTP 500 (the request did not
//! get a meaningful OCPI answer); unknown Token answers HTTP 404 with 2004 (§11 item 1); a
//! request for a party we do not host answers HTTP 404 with 2001 (§2 note on hosting).

use crate::oicp::v23::validate::ValidationError;
use crate::store::StoreError;

/// At most this many validation errors are spelled out in `status_message`.
const MAX_LISTED_ERRORS: usize = 10;

/// A request the OCPI server cannot answer with success, or a failed handshake step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcpiError {
    /// Missing, malformed or unknown credentials token (or token A on a functional module).
    #[error("{0}")]
    Unauthorized(String),
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    BadJson(String),
    /// The object or URL does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The addressed party is not hosted here, or a URL party is not one of the client's.
    #[error("{0}")]
    UnknownParty(String),
    /// The method is not allowed in the current registration state.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The body breaks the model; every error with its JSON path.
    #[error("{}", list_errors(.0))]
    Invalid(Vec<ValidationError>),
    /// A query parameter, header or URL segment is invalid.
    #[error("{0}")]
    InvalidParameter(String),
    /// Not enough information (2002).
    #[error("{0}")]
    NotEnoughInformation(String),
    /// Unknown Location (2003).
    #[error("{0}")]
    UnknownLocation(String),
    /// A GET of a Location, EVSE or connector that does not exist (HTTP 404, 2003).
    #[error("{0}")]
    NoSuchLocation(String),
    /// Unknown Token (2004).
    #[error("{0}")]
    UnknownToken(String),
    /// The partner's API could not be used (3001).
    #[error("{0}")]
    PartnerUnusable(String),
    /// No mutual version (3002).
    #[error("{0}")]
    UnsupportedVersion(String),
    /// Required endpoints missing (3003).
    #[error("{0}")]
    MissingEndpoints(String),
    /// A fault of ours; the text is logged, the partner sees a generic message.
    #[error("{0}")]
    Internal(String),
}

impl OcpiError {
    /// The HTTP status of the answer.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthorized(_) => 401,
            Self::BadJson(_) => 400,
            Self::NotFound(_)
            | Self::UnknownParty(_)
            | Self::UnknownToken(_)
            | Self::NoSuchLocation(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::Internal(_) => 500,
            Self::Invalid(_)
            | Self::InvalidParameter(_)
            | Self::NotEnoughInformation(_)
            | Self::UnknownLocation(_)
            | Self::PartnerUnusable(_)
            | Self::UnsupportedVersion(_)
            | Self::MissingEndpoints(_) => 200,
        }
    }

    /// The OCPI `status_code`.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthorized(_)
            | Self::BadJson(_)
            | Self::NotFound(_)
            | Self::MethodNotAllowed(_) => 2000,
            Self::Invalid(_) | Self::InvalidParameter(_) | Self::UnknownParty(_) => 2001,
            Self::NotEnoughInformation(_) => 2002,
            Self::UnknownLocation(_) | Self::NoSuchLocation(_) => 2003,
            Self::UnknownToken(_) => 2004,
            Self::Internal(_) => 3000,
            Self::PartnerUnusable(_) => 3001,
            Self::UnsupportedVersion(_) => 3002,
            Self::MissingEndpoints(_) => 3003,
        }
    }

    /// The `status_message` shown to the partner (internal details stay in the log).
    pub fn status_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal error of the server".to_owned(),
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for OcpiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(format!("store: {e}"))
    }
}

/// `$.token: must not be empty; $.roles: ...`, capped.
fn list_errors(errors: &[ValidationError]) -> String {
    let mut parts: Vec<String> = errors
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    if errors.len() > MAX_LISTED_ERRORS {
        parts.push(format!("and {} more", errors.len() - MAX_LISTED_ERRORS));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oicp::v23::status::Code;

    #[test]
    fn each_failure_has_its_http_status_and_ocpi_code() {
        let invalid = OcpiError::Invalid(vec![ValidationError::new(
            "$.roles[0].party_id".into(),
            Code::DataError,
            "too long".into(),
        )]);
        assert_eq!((invalid.http_status(), invalid.status_code()), (200, 2001));
        assert_eq!(invalid.status_message(), "$.roles[0].party_id: too long");
        let table = [
            (OcpiError::Unauthorized(String::new()), 401, 2000),
            (OcpiError::BadJson(String::new()), 400, 2000),
            (OcpiError::NotFound(String::new()), 404, 2000),
            (OcpiError::UnknownParty(String::new()), 404, 2001),
            (OcpiError::MethodNotAllowed(String::new()), 405, 2000),
            (OcpiError::UnknownToken(String::new()), 404, 2004),
            (OcpiError::PartnerUnusable(String::new()), 200, 3001),
            (OcpiError::UnsupportedVersion(String::new()), 200, 3002),
            (OcpiError::MissingEndpoints(String::new()), 200, 3003),
            (OcpiError::Internal(String::new()), 500, 3000),
        ];
        for (e, http, code) in table {
            assert_eq!((e.http_status(), e.status_code()), (http, code), "{e:?}");
        }
        assert_eq!(
            OcpiError::Internal("disk full".into()).status_message(),
            "internal error of the server"
        );
    }

    #[test]
    fn long_error_lists_are_capped() {
        let errors: Vec<ValidationError> = (0..12)
            .map(|i| ValidationError::new(format!("$.x[{i}]"), Code::DataError, "bad".into()))
            .collect();
        let text = OcpiError::Invalid(errors).status_message();
        assert!(text.ends_with("and 2 more"), "{text}");
        assert!(!text.contains("$.x[10]"), "{text}");
    }
}
