//! `eRoamingAcknowledgement` (oicp-2.3.md §3.1): the answer of most operations.

use super::ids::{CpoPartnerSessionId, EmpPartnerSessionId, SessionId};
use super::status::{Code, StatusCode};
use super::validate::{Validate, Validator};

crate::wire_struct! {
    /// `eRoamingAcknowledgement`.
    pub struct Acknowledgement {
        /// Whether the request was processed successfully.
        req "Result" => result: bool,
        /// Outcome details.
        req "StatusCode" => status_code: StatusCode,
        /// Session the answer is about (remote start returns the new `SessionID` here).
        opt "SessionID" => session_id: SessionId,
        /// CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// EMP's own session ID.
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
    }
}

impl Acknowledgement {
    /// `Result: true`, `000`.
    pub fn success() -> Self {
        Self::with_status(true, StatusCode::success())
    }

    /// `Result: false` with `code` and a description of our own.
    pub fn failure(code: Code, description: &str) -> Self {
        Self::with_status(false, StatusCode::with_description(code, description))
    }

    /// An acknowledgement with the given result and status.
    pub fn with_status(result: bool, status_code: StatusCode) -> Self {
        Self {
            result,
            status_code,
            session_id: None,
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            extra: super::wire::Extra::new(),
        }
    }
}

impl Validate for Acknowledgement {
    fn validate(&self, v: &mut Validator) {
        if self.result && !self.status_code.code.is_success() {
            v.error_at(
                "Result",
                format!("Result is true but StatusCode is {}", self.status_code.code),
            );
        }
    }
}
