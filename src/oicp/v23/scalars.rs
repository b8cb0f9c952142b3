//! Scalar wire types with the spec's rules built in: date-times with an offset, decimals,
//! bounded text and bounded integers (oicp-2.3.md §5.2 and the field lengths of §3–§4).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The impls a date-time that keeps the partner's spelling (`raw`) beside its instant (`value`)
/// shares with its twin in the other protocol: equality and order by instant, `Display` and
/// serialization as received. Used by this module's and `ocpi::v221::types`' `DateTime`.
#[doc(hidden)]
#[macro_export]
macro_rules! raw_instant_impls {
    ($ty:ident) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.value == other.value
            }
        }

        impl Eq for $ty {}

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<::std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> ::std::cmp::Ordering {
                self.value.cmp(&other.value)
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.raw)
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.raw)
            }
        }
    };
}

/// An OICP date-time: ISO 8601 with seconds and **an offset** (`2014-02-01T15:45:00+02:00`,
/// `2020-09-23T14:17:53.038Z`), oicp-2.3.md §5.2.
///
/// The partner's spelling is kept and written back unchanged (the HBS forwards date-times as
/// received); equality and order are by instant.
#[derive(Debug, Clone)]
pub struct DateTime {
    raw: String,
    value: chrono::DateTime<chrono::FixedOffset>,
}

impl DateTime {
    /// Parses a date-time; one without an offset is refused.
    pub fn parse(s: &str) -> Result<Self, String> {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|value| Self {
                raw: s.to_owned(),
                value,
            })
            .map_err(|_| {
                format!(
                    "'{s}' is not a date-time with offset (expected e.g. 2014-02-01T15:45:00+02:00)"
                )
            })
    }

    /// A date-time we originate, written in RFC 3339 with the given offset.
    pub fn from_chrono(value: chrono::DateTime<chrono::FixedOffset>) -> Self {
        Self {
            raw: value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            value,
        }
    }

    /// The instant with the partner's offset.
    pub fn value(&self) -> chrono::DateTime<chrono::FixedOffset> {
        self.value
    }

    /// The text as received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

crate::raw_instant_impls!(DateTime);

impl FromStr for DateTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string with offset")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DateTime, E> {
                DateTime::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A decimal number (energy in kWh, prices, power, radius), oicp-2.3.md §5.2.
///
/// Read leniently: a JSON number or a numeric string (the HBS accepted meter values as strings,
/// §5.5). Written as a JSON number: an integer when whole (so `22` stays `22`), else a decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(pub rust_decimal::Decimal);

impl Decimal {
    /// The value.
    pub fn value(self) -> rust_decimal::Decimal {
        self.0
    }

    /// Number of digits after the decimal point, ignoring trailing zeros.
    pub fn decimals(self) -> u32 {
        self.0.normalize().scale()
    }
}

impl From<rust_decimal::Decimal> for Decimal {
    fn from(d: rust_decimal::Decimal) -> Self {
        Self(d)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use rust_decimal::prelude::ToPrimitive;
        let d = self.0.normalize();
        if d.scale() == 0
            && let Some(i) = d.to_i64()
        {
            return serializer.serialize_i64(i);
        }
        // `to_f64` of a decimal with few digits gives the nearest double, which serde_json
        // prints in its shortest form: "30.541" stays "30.541".
        match d.to_f64() {
            Some(f) => serializer.serialize_f64(f),
            None => Err(serde::ser::Error::custom("decimal out of range")),
        }
    }
}

fn decimal_from_str<E: de::Error>(s: &str) -> Result<Decimal, E> {
    let t = s.trim();
    rust_decimal::Decimal::from_str(t)
        .or_else(|_| rust_decimal::Decimal::from_scientific(t))
        .map(Decimal)
        .map_err(|_| E::custom(format!("'{s}' is not a decimal number")))
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                if !v.is_finite() {
                    return Err(E::custom("decimal must be finite"));
                }
                // Through the shortest decimal text of the double, which is what the sender
                // wrote (serde_json parsed it from that text).
                decimal_from_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                decimal_from_str(v)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Text with a length range in characters (`MIN..=MAX`), as the spec's field lengths require.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bounded<const MIN: usize, const MAX: usize>(String);

/// Text of at most `MAX` characters (may be empty).
pub type Text<const MAX: usize> = Bounded<0, MAX>;

impl<const MIN: usize, const MAX: usize> Bounded<MIN, MAX> {
    /// Checks the length.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_owned())
    }

    /// Text we originate, cut to `MAX` characters.
    pub fn truncated(s: &str) -> Self {
        Self(s.chars().take(MAX).collect())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> TryFrom<String> for Bounded<MIN, MAX> {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // Byte length bounds the character count from above; count only when it matters.
        let len = if s.len() <= MAX && s.len() >= MIN {
            None
        } else {
            Some(s.chars().count())
        };
        match len {
            Some(n) if n > MAX => Err(format!(
                "'{s}' is {n} characters long, at most {MAX} allowed"
            )),
            Some(n) if n < MIN => Err(format!(
                "'{s}' is {n} characters long, at least {MIN} required"
            )),
            _ => Ok(Self(s)),
        }
    }
}

impl<const MIN: usize, const MAX: usize> AsRef<str> for Bounded<MIN, MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Display for Bounded<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MIN: usize, const MAX: usize> Serialize for Bounded<MIN, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::try_from(s).map_err(de::Error::custom)
    }
}

/// An integer in `MIN..=MAX`; read from a JSON integer or an integer string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Int<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Int<MIN, MAX> {
    /// Checks the range.
    pub fn new(v: i64) -> Result<Self, String> {
        if (MIN..=MAX).contains(&v) {
            Ok(Self(v))
        } else {
            Err(format!("{v} is out of range {MIN}..={MAX}"))
        }
    }

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64> fmt::Display for Int<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<const MIN: i64, const MAX: i64> Serialize for Int<MIN, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<const MIN: i64, const MAX: i64>;
        impl<const MIN: i64, const MAX: i64> Visitor<'_> for V<MIN, MAX> {
            type Value = Int<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an integer in {MIN}..={MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Int::new(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is too large")))
                    .and_then(|v| Int::new(v).map_err(E::custom))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Err(E::custom(format!("{v} is not an integer")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| E::custom(format!("'{v}' is not an integer")))
                    .and_then(|v| Int::new(v).map_err(E::custom))
            }
        }
        deserializer.deserialize_any(V::<MIN, MAX>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_needs_an_offset_and_keeps_its_spelling() {
        let d: DateTime = serde_json::from_str("\"2020-09-23T14:17:53.038Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            "\"2020-09-23T14:17:53.038Z\""
        );
        let e: DateTime = serde_json::from_str("\"2020-09-23T16:17:53.038+02:00\"").unwrap();
        assert_eq!(d, e);
        let err = serde_json::from_str::<DateTime>("\"2020-09-23T14:17:53\"").unwrap_err();
        assert!(err.to_string().contains("offset"), "{err}");
        assert!(serde_json::from_str::<DateTime>("\"2020-09-23\"").is_err());
    }

    #[test]
    fn decimal_reads_numbers_and_numeric_strings() {
        let a: Decimal = serde_json::from_str("30.541").unwrap();
        let b: Decimal = serde_json::from_str("\"30.541\"").unwrap();
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&a).unwrap(), "30.541");
        let whole: Decimal = serde_json::from_str("22").unwrap();
        assert_eq!(serde_json::to_string(&whole).unwrap(), "22");
        let whole_f: Decimal = serde_json::from_str("22.0").unwrap();
        assert_eq!(serde_json::to_string(&whole_f).unwrap(), "22");
        assert!(serde_json::from_str::<Decimal>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Decimal>("true").is_err());
        assert_eq!(b.decimals(), 3);
    }

    #[test]
    fn bounded_text_counts_characters() {
        assert!(Text::<3>::parse("äöü").is_ok());
        let err = Text::<3>::parse("abcd").unwrap_err();
        assert!(err.contains("at most 3"), "{err}");
        assert!(
            Bounded::<2, 5>::parse("a")
                .unwrap_err()
                .contains("at least 2")
        );
        assert_eq!(Text::<2>::truncated("abc").as_str(), "ab");
    }

    #[test]
    fn int_checks_its_range() {
        let v: Int<0, 99> = serde_json::from_str("42").unwrap();
        assert_eq!(v.get(), 42);
        let s: Int<0, 99> = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(s, v);
        assert!(serde_json::from_str::<Int<0, 99>>("100").is_err());
        assert!(serde_json::from_str::<Int<0, 99>>("-1").is_err());
        assert!(serde_json::from_str::<Int<0, 99>>("1.5").is_err());
    }
}
