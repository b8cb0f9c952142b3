//! `StatusCode` and its lossless `Code` (oicp-2.3.md §3.1 and §6.1, S1 `CodeType`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::scalars::Text;

macro_rules! codes {
    ($($(#[$m:meta])* $variant:ident = $wire:literal, $text:literal;)*) => {
        /// An OICP status code: three digits, leading zeros kept (`"000"`).
        ///
        /// Lossless: a three-digit code the spec does not list is kept in `Other` and written
        /// back unchanged.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[$m])* #[doc = concat!("`", $wire, "`.")] $variant,)*
            /// A three-digit code outside the spec's list, kept as sent.
            Other(String),
        }

        impl Code {
            /// Every code the spec lists.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The three-digit wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(s) => s.as_str(),
                }
            }

            /// The spec's description of the code (used as `Description` when we answer).
            pub fn description(&self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(_) => "Unknown status code",
                }
            }

            /// Parses a code; anything but three ASCII digits is refused.
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($wire => Ok(Self::$variant),)*
                    other if other.len() == 3 && other.bytes().all(|b| b.is_ascii_digit()) => {
                        Ok(Self::Other(other.to_owned()))
                    }
                    other => Err(format!("'{other}' is not a status code (three digits, e.g. \"000\")")),
                }
            }
        }
    };
}

codes! {
    Success = "000", "Success";
    HubjectSystemError = "001", "Hubject system error";
    HubjectDatabaseError = "002", "Hubject database error";
    DataTransactionError = "009", "Data transaction error";
    UnauthorizedAccess = "017", "Unauthorized Access";
    InconsistentEvseId = "018", "Inconsistent EvseID";
    InconsistentEvcoId = "019", "Inconsistent EvcoID";
    SystemError = "021", "System error";
    DataError = "022", "Data error";
    QrCodeAuthenticationFailed = "101", "QR Code Authentication failed – Invalid Credentials";
    RfidInvalidUid = "102", "RFID Authentication failed – invalid UID";
    RfidCardNotReadable = "103", "RFID Authentication failed – card not readable";
    PlcInvalidEvcoId = "105", "PLC Authentication failed - invalid EvcoID";
    NoPositiveAuthenticationResponse = "106", "No positive authentication response";
    QrCodeAppTimeout = "110", "QR Code App Authentication failed – time out error";
    PlcInvalidUnderlyingEvcoId = "120", "PLC (ISO/ IEC 15118) Authentication failed – invalid underlying EvcoID";
    PlcInvalidCertificate = "121", "PLC (ISO/ IEC 15118) Authentication failed – invalid certificate";
    PlcTimeout = "122", "PLC (ISO/ IEC 15118) Authentication failed – time out error";
    EvcoIdLocked = "200", "EvcoID locked";
    NoValidContract = "210", "No valid contract";
    PartnerNotFound = "300", "Partner not found";
    PartnerDidNotRespond = "310", "Partner did not respond";
    ServiceNotAvailable = "320", "Service not available";
    SessionIsInvalid = "400", "Session is invalid";
    CommunicationToEvseFailed = "501", "Communication to EVSE failed";
    NoEvConnected = "510", "No EV connected to EVSE";
    EvseAlreadyReserved = "601", "EVSE already reserved";
    EvseAlreadyInUse = "602", "EVSE already in use/ wrong token";
    UnknownEvseId = "603", "Unknown EVSE ID";
    EvseNotHubjectCompatible = "604", "EVSE ID is not Hubject compatible";
    EvseOutOfService = "700", "EVSE out of service";
}

impl Code {
    /// Whether this is `000`.
    pub fn is_success(&self) -> bool {
        *self == Self::Success
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Code;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a three-digit status code string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Code, E> {
                Code::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

crate::wire_struct! {
    /// `StatusCode` (oicp-2.3.md §3.1).
    pub struct StatusCode {
        /// The three-digit code.
        req "Code" => code: Code,
        /// Human-readable description (at most 200 characters).
        opt "Description" => description: Text<200>,
        /// More detail (at most 1000 characters).
        opt "AdditionalInfo" => additional_info: Text<1000>,
    }
}

impl StatusCode {
    /// A status with the spec's description of `code`.
    pub fn new(code: Code) -> Self {
        let description = Text::truncated(code.description());
        Self {
            code,
            description: Some(description),
            additional_info: None,
            extra: super::wire::Extra::new(),
        }
    }

    /// A status with a description of our own (cut to the spec's 200 characters).
    pub fn with_description(code: Code, description: &str) -> Self {
        Self {
            code,
            description: Some(Text::truncated(description)),
            additional_info: None,
            extra: super::wire::Extra::new(),
        }
    }

    /// `000 Success`.
    pub fn success() -> Self {
        Self::new(Code::Success)
    }
}

impl super::validate::Validate for StatusCode {
    fn validate(&self, _: &mut super::validate::Validator) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_with_leading_zeros() {
        for code in Code::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json.len(), 5, "{json}");
            let back: Code = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, code);
        }
        assert_eq!(serde_json::to_string(&Code::Success).unwrap(), "\"000\"");
    }

    #[test]
    fn unknown_three_digit_codes_survive_a_round_trip() {
        let code: Code = serde_json::from_str("\"987\"").unwrap();
        assert_eq!(code, Code::Other("987".to_owned()));
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"987\"");
    }

    #[test]
    fn non_codes_are_refused() {
        assert!(serde_json::from_str::<Code>("\"0\"").is_err());
        assert!(serde_json::from_str::<Code>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Code>("0").is_err());
    }

    #[test]
    fn status_code_keeps_unknown_members() {
        let json = r#"{"Code":"022","Description":"bad","Custom":{"a":1}}"#;
        let s: StatusCode = serde_json::from_str(json).unwrap();
        assert_eq!(s.code, Code::DataError);
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }
}
