//! The table of OICP 2.3 operations (oicp-2.3.md §2): name, method, path, direction and body
//! types, and validation of a body by operation name.

use std::fmt;

use super::acknowledgement::Acknowledgement;
use super::auth_data::PushAuthenticationData;
use super::authorization::{
    AuthorizationStart, AuthorizationStop, AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop, AuthorizeRemoteStart, AuthorizeRemoteStop, AuthorizeStart,
    AuthorizeStop,
};
use super::cdr::{ChargeDetailRecord, ChargeDetailRecordPage, GetChargeDetailRecords};
use super::evse_data::{EvseDataPage, PullEvseData, PushEvseData};
use super::evse_status::{
    EvseStatusByIdResponse, EvseStatusResponse, PullEvseStatus, PullEvseStatusById,
    PullEvseStatusByOperatorId, PushEvseStatus,
};
use super::notifications::{ChargingNotification, ChargingNotificationType};
use super::pricing::{
    EvsePricingResponse, PricingProductDataResponse, PullEvsePricing, PullPricingProductData,
    PushEvsePricing, PushPricingProductData,
};
use super::status::Code;
use super::validate::ValidationError;
use super::wire::parse;

/// Who sends a request and who finally handles it. In OICP every call goes through the hub;
/// the forwarded ones reach the other role on the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A CPO sends it to the hub, which keeps it (data pushes).
    CpoToHub,
    /// A CPO sends it; the hub forwards it to the EMP (authorization, CDR, notifications).
    CpoToEmp,
    /// An EMP sends it to the hub, which answers (pulls, authentication data).
    EmpToHub,
    /// An EMP sends it; the hub forwards it to the CPO (remote start/stop, reservation).
    EmpToCpo,
}

impl Direction {
    /// `CPO -> hub -> EMP` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CpoToHub => "CPO -> hub",
            Self::CpoToEmp => "CPO -> hub -> EMP",
            Self::EmpToHub => "EMP -> hub",
            Self::EmpToCpo => "EMP -> hub -> CPO",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which body of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// The request body.
    Request,
    /// The response body.
    Response,
}

macro_rules! operations {
    ($(
        $(#[$m:meta])*
        $variant:ident {
            service: $service:literal,
            path: $path:literal,
            direction: $dir:ident,
            request: $req_name:literal => $req:ty,
            response: $resp_name:literal => $resp:ty $(,)?
        }
    )*) => {
        /// Every OICP 2.3 operation, CPO and EMP side. The four charging notifications share one
        /// path and are told apart by `Type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $($(#[$m])* $variant,)*
        }

        impl Operation {
            /// All operations, in the order of oicp-2.3.md §2.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The name used on the command line, e.g. `PushEvseData`.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)* }
            }

            /// Hubject's service operation name, e.g. `eRoamingPushEvseData_V2.3`.
            pub fn service_name(self) -> &'static str {
                match self { $(Self::$variant => $service,)* }
            }

            /// The path template below the base URL (`…/api/oicp`).
            pub fn path_template(self) -> &'static str {
                match self { $(Self::$variant => $path,)* }
            }

            /// Who sends it and who handles it.
            pub fn direction(self) -> Direction {
                match self { $(Self::$variant => Direction::$dir,)* }
            }

            /// The spec's name of the request body type.
            pub fn request_type(self) -> &'static str {
                match self { $(Self::$variant => $req_name,)* }
            }

            /// The spec's name of the response body type.
            pub fn response_type(self) -> &'static str {
                match self { $(Self::$variant => $resp_name,)* }
            }

            fn check(self, kind: BodyKind, bytes: &[u8]) -> Result<(), Vec<ValidationError>> {
                match (self, kind) {
                    $(
                        (Self::$variant, BodyKind::Request) => check_request::<$req>(self, bytes).map(drop),
                        (Self::$variant, BodyKind::Response) => parse::<$resp>(bytes).map(drop),
                    )*
                }
            }

            /// Parses and validates a body, then writes it back: the JSON the node would
            /// forward (unknown members kept, errata spellings written in the S1 form).
            pub fn round_trip(self, kind: BodyKind, bytes: &[u8]) -> Result<serde_json::Value, Vec<ValidationError>> {
                let to_value = |r: Result<serde_json::Value, serde_json::Error>| {
                    r.map_err(|e| vec![ValidationError::new("$".to_owned(), Code::SystemError, e.to_string())])
                };
                match (self, kind) {
                    $(
                        (Self::$variant, BodyKind::Request) => to_value(serde_json::to_value(check_request::<$req>(self, bytes)?)),
                        (Self::$variant, BodyKind::Response) => to_value(serde_json::to_value(parse::<$resp>(bytes)?)),
                    )*
                }
            }
        }
    };
}

operations! {
    /// Push EVSE data (CPO).
    PushEvseData {
        service: "eRoamingPushEvseData_V2.3",
        path: "/evsepush/v23/operators/{operatorID}/data-records",
        direction: CpoToHub,
        request: "eRoamingPushEvseData" => PushEvseData,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Push EVSE status (CPO).
    PushEvseStatus {
        service: "eRoamingPushEvseStatus_V2.1",
        path: "/evsepush/v21/operators/{operatorID}/status-records",
        direction: CpoToHub,
        request: "eRoamingPushEvseStatus" => PushEvseStatus,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Authorize a charging start (CPO, forwarded to the EMP).
    AuthorizeStart {
        service: "eRoamingAuthorizeStart_V2.1",
        path: "/charging/v21/operators/{operatorID}/authorize/start",
        direction: CpoToEmp,
        request: "eRoamingAuthorizeStart" => AuthorizeStart,
        response: "eRoamingAuthorizationStart" => AuthorizationStart,
    }
    /// Authorize a charging stop (CPO, forwarded to the EMP).
    AuthorizeStop {
        service: "eRoamingAuthorizeStop_V2.1",
        path: "/charging/v21/operators/{operatorID}/authorize/stop",
        direction: CpoToEmp,
        request: "eRoamingAuthorizeStop" => AuthorizeStop,
        response: "eRoamingAuthorizationStop" => AuthorizationStop,
    }
    /// Send a charge detail record (CPO, forwarded to the EMP).
    ChargeDetailRecord {
        service: "eRoamingChargeDetailRecord_V2.2",
        path: "/cdrmgmt/v22/operators/{operatorID}/charge-detail-record",
        direction: CpoToEmp,
        request: "eRoamingChargeDetailRecord" => ChargeDetailRecord,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Push pricing products (CPO).
    PushPricingProductData {
        service: "eRoamingPushPricingProductData_V1.0",
        path: "/dynamicpricing/v10/operators/{operatorID}/pricing-products",
        direction: CpoToHub,
        request: "eRoamingPushPricingProductData" => PushPricingProductData,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Push EVSE pricing (CPO).
    PushEvsePricing {
        service: "eRoamingPushEVSEPricing_V1.0",
        path: "/dynamicpricing/v10/operators/{operatorID}/evse-pricing",
        direction: CpoToHub,
        request: "eRoamingPushEVSEPricing" => PushEvsePricing,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Charging notification `Start` (CPO, forwarded to the EMP).
    ChargingNotificationStart {
        service: "eRoamingChargingNotifications_V1.1",
        path: "/notificationmgmt/v11/charging-notifications",
        direction: CpoToEmp,
        request: "eRoamingChargingNotificationStart" => ChargingNotification,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Charging notification `Progress` (CPO, forwarded to the EMP).
    ChargingNotificationProgress {
        service: "eRoamingChargingNotifications_V1.1",
        path: "/notificationmgmt/v11/charging-notifications",
        direction: CpoToEmp,
        request: "eRoamingChargingNotificationProgress" => ChargingNotification,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Charging notification `End` (CPO, forwarded to the EMP).
    ChargingNotificationEnd {
        service: "eRoamingChargingNotifications_V1.1",
        path: "/notificationmgmt/v11/charging-notifications",
        direction: CpoToEmp,
        request: "eRoamingChargingNotificationEnd" => ChargingNotification,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Charging notification `Error` (CPO, forwarded to the EMP).
    ChargingNotificationError {
        service: "eRoamingChargingNotifications_V1.1",
        path: "/notificationmgmt/v11/charging-notifications",
        direction: CpoToEmp,
        request: "eRoamingChargingNotificationError" => ChargingNotification,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Remote start (EMP, forwarded to the CPO).
    AuthorizeRemoteStart {
        service: "eRoamingAuthorizeRemoteStart_V2.1",
        path: "/charging/v21/providers/{providerID}/authorize-remote/start",
        direction: EmpToCpo,
        request: "eRoamingAuthorizeRemoteStart" => AuthorizeRemoteStart,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Remote stop (EMP, forwarded to the CPO).
    AuthorizeRemoteStop {
        service: "eRoamingAuthorizeRemoteStop_V2.1",
        path: "/charging/v21/providers/{providerID}/authorize-remote/stop",
        direction: EmpToCpo,
        request: "eRoamingAuthorizeRemoteStop" => AuthorizeRemoteStop,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Remote reservation start (EMP, forwarded to the CPO).
    AuthorizeRemoteReservationStart {
        service: "eRoamingAuthorizeRemoteReservationStart_V1.1",
        path: "/reservation/v11/providers/{providerID}/reservation-start-request",
        direction: EmpToCpo,
        request: "eRoamingAuthorizeRemoteReservationStart" => AuthorizeRemoteReservationStart,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Remote reservation stop (EMP, forwarded to the CPO).
    AuthorizeRemoteReservationStop {
        service: "eRoamingAuthorizeRemoteReservationStop_V1.1",
        path: "/reservation/v11/providers/{providerID}/reservation-stop-request",
        direction: EmpToCpo,
        request: "eRoamingAuthorizeRemoteReservationStop" => AuthorizeRemoteReservationStop,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Pull EVSE data, paged (EMP).
    PullEvseData {
        service: "eRoamingPullEvseData_V2.3",
        path: "/evsepull/v23/providers/{providerID}/data-records",
        direction: EmpToHub,
        request: "eRoamingPullEvseData" => PullEvseData,
        response: "eRoamingEvseData" => EvseDataPage,
    }
    /// Pull EVSE status (EMP).
    PullEvseStatus {
        service: "eRoamingPullEvseStatus_V2.1",
        path: "/evsepull/v21/providers/{providerID}/status-records",
        direction: EmpToHub,
        request: "eRoamingPullEvseStatus" => PullEvseStatus,
        response: "eRoamingEvseStatus" => EvseStatusResponse,
    }
    /// Pull EVSE status by `EvseID`, at most 100 (EMP).
    PullEvseStatusById {
        service: "eRoamingPullEvseStatusById_V2.1",
        path: "/evsepull/v21/providers/{providerID}/status-records-by-id",
        direction: EmpToHub,
        request: "eRoamingPullEvseStatusByID" => PullEvseStatusById,
        response: "eRoamingEvseStatusByID" => EvseStatusByIdResponse,
    }
    /// Pull EVSE status by `OperatorID` (EMP).
    PullEvseStatusByOperatorId {
        service: "eRoamingPullEvseStatusByOperatorId_V2.1",
        path: "/evsepull/v21/providers/{providerID}/status-records-by-operator-id",
        direction: EmpToHub,
        request: "eRoamingPullEvseStatusByOperatorID" => PullEvseStatusByOperatorId,
        response: "eRoamingEvseStatus" => EvseStatusResponse,
    }
    /// Get charge detail records, paged (EMP).
    GetChargeDetailRecords {
        service: "eRoamingGetChargeDetailRecords_V2.2",
        path: "/cdrmgmt/v22/providers/{providerID}/get-charge-detail-records-request",
        direction: EmpToHub,
        request: "eRoamingGetChargeDetailRecords" => GetChargeDetailRecords,
        response: "eRoamingChargeDetailRecords" => ChargeDetailRecordPage,
    }
    /// Push authentication data (offline EMP).
    PushAuthenticationData {
        service: "eRoamingPushAuthenticationData_V2.1",
        path: "/authdata/v21/providers/{providerID}/push-request",
        direction: EmpToHub,
        request: "eRoamingPushAuthenticationData" => PushAuthenticationData,
        response: "eRoamingAcknowledgement" => Acknowledgement,
    }
    /// Pull pricing products (EMP).
    PullPricingProductData {
        service: "eRoamingPullPricingProductData_V1.0",
        path: "/dynamicpricing/v10/providers/{providerID}/pricing-products",
        direction: EmpToHub,
        request: "eRoamingPullPricingProductData" => PullPricingProductData,
        response: "eRoamingPricingProductData" => PricingProductDataResponse,
    }
    /// Pull EVSE pricing (EMP).
    PullEvsePricing {
        service: "eRoamingPullEVSEPricing_V1.0",
        path: "/dynamicpricing/v10/providers/{providerID}/evse-pricing",
        direction: EmpToHub,
        request: "eRoamingPullEVSEPricing" => PullEvsePricing,
        response: "eRoamingEVSEPricing" => EvsePricingResponse,
    }
}

/// The notification type an operation stands for, if it is one of the four notifications.
fn notification_type(op: Operation) -> Option<ChargingNotificationType> {
    match op {
        Operation::ChargingNotificationStart => Some(ChargingNotificationType::Start),
        Operation::ChargingNotificationProgress => Some(ChargingNotificationType::Progress),
        Operation::ChargingNotificationEnd => Some(ChargingNotificationType::End),
        Operation::ChargingNotificationError => Some(ChargingNotificationType::Error),
        _ => None,
    }
}

/// Request bodies that need a check against the operation beyond their type (the notification
/// `Type` must match the operation named).
trait RequestCheck: Sized {
    fn check_for(&self, _op: Operation) -> Vec<ValidationError> {
        Vec::new()
    }
}

impl RequestCheck for ChargingNotification {
    fn check_for(&self, op: Operation) -> Vec<ValidationError> {
        match notification_type(op) {
            Some(expected) if expected != self.notification_type() => vec![ValidationError::new(
                "$.Type".to_owned(),
                Code::DataError,
                format!(
                    "Type is {} but the operation {} needs Type {}",
                    self.notification_type(),
                    op.name(),
                    expected
                ),
            )],
            _ => Vec::new(),
        }
    }
}

macro_rules! no_request_check {
    ($($t:ty),*) => { $(impl RequestCheck for $t {})* };
}

no_request_check!(
    PushEvseData,
    PushEvseStatus,
    AuthorizeStart,
    AuthorizeStop,
    ChargeDetailRecord,
    PushPricingProductData,
    PushEvsePricing,
    AuthorizeRemoteStart,
    AuthorizeRemoteStop,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    PullEvseData,
    PullEvseStatus,
    PullEvseStatusById,
    PullEvseStatusByOperatorId,
    GetChargeDetailRecords,
    PushAuthenticationData,
    PullPricingProductData,
    PullEvsePricing
);

fn check_request<T>(op: Operation, bytes: &[u8]) -> Result<T, Vec<ValidationError>>
where
    T: serde::de::DeserializeOwned + super::validate::Validate + RequestCheck,
{
    let value = parse::<T>(bytes)?;
    let errors = value.check_for(op);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

impl Operation {
    /// Finds an operation by name: `PushEvseData`, case-insensitive, also with Hubject's
    /// `eRoaming` prefix and `_Vx.y` suffix (`eRoamingPushEvseData_V2.3`).
    pub fn from_name(name: &str) -> Option<Self> {
        let trimmed = name.trim();
        let without_prefix = trimmed
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("eroaming"))
            .map_or(trimmed, |_| &trimmed[8..]);
        let base = without_prefix
            .split_once("_V")
            .map_or(without_prefix, |(b, _)| b);
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.name().eq_ignore_ascii_case(base))
    }

    /// Validates a request or response body of this operation: every error with its JSON path.
    pub fn validate(self, kind: BodyKind, bytes: &[u8]) -> Result<(), Vec<ValidationError>> {
        self.check(kind, bytes)
    }

    /// HTTP method: every OICP 2.3 operation is a POST.
    pub fn method(self) -> &'static str {
        "POST"
    }

    /// Whether the response is paged (`page`, `size`, `sort` query parameters).
    pub fn is_paged(self) -> bool {
        matches!(self, Self::PullEvseData | Self::GetChargeDetailRecords)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The table printed by `roambridge oicp operations`.
pub fn operations_table() -> String {
    let header = [
        "Operation",
        "Method",
        "Path (below /api/oicp)",
        "Direction",
        "Request",
        "Response",
    ];
    let rows: Vec<[String; 6]> = Operation::ALL
        .iter()
        .map(|op| {
            let path = if op.is_paged() {
                format!("{}?page=&size=&sort=", op.path_template())
            } else {
                op.path_template().to_owned()
            };
            [
                op.name().to_owned(),
                op.method().to_owned(),
                path,
                op.direction().to_string(),
                op.request_type().to_owned(),
                op.response_type().to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&rule.iter().map(String::as_str).collect::<Vec<_>>());
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_every_spelling() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
            assert_eq!(Operation::from_name(&op.name().to_lowercase()), Some(*op));
        }
        assert_eq!(
            Operation::from_name("eRoamingPushEvseData_V2.3"),
            Some(Operation::PushEvseData)
        );
        assert_eq!(Operation::from_name("PushEvseDataX"), None);
        assert_eq!(Operation::from_name(""), None);
    }

    #[test]
    fn every_operation_is_in_the_table_with_its_path() {
        let table = operations_table();
        for op in Operation::ALL {
            let line = table
                .lines()
                .find(|l| l.split_whitespace().next() == Some(op.name()));
            let line = line.unwrap_or_else(|| panic!("{op} missing"));
            assert!(line.contains(op.path_template()), "{line}");
            assert!(line.contains("POST"));
        }
        assert_eq!(Operation::ALL.len(), 23);
    }

    #[test]
    fn notification_type_must_match_the_operation() {
        let body = br#"{"Type":"Start","SessionID":"b2688855-7f00-0002-6d8e-48d883f6abb6","EvseID":"DE*GEF*E0001*1","OperatorID":"DE*GEF","ChargingStart":"2024-01-01T10:00:00+01:00"}"#;
        assert!(
            Operation::ChargingNotificationStart
                .validate(BodyKind::Request, body)
                .is_ok()
        );
        let errs = Operation::ChargingNotificationEnd
            .validate(BodyKind::Request, body)
            .unwrap_err();
        assert_eq!(errs[0].path, "$.Type");
    }
}
