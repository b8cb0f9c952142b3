//! The machinery every OICP wire type is built with: lenient-but-checked deserialization,
//! lossless serialization, and error collection with JSON paths.
//!
//! # Two passes, one model
//! A message is first parsed straight from the bytes (the fast path, as fast as a plain serde
//! derive). When that fails, the bytes are parsed again into a [`serde_json::Value`] and the same
//! `Deserialize` impls run in *collect mode*: every field error is recorded with its JSON path and
//! parsing goes on with the next field and the next list element, so one run reports every
//! defect of a message, not only the first. Invalid values never escape: collect mode only
//! produces errors.
//!
//! # What the generated code does (see [`wire_struct!`](crate::wire_struct))
//! * `null` is the same as an absent member (the HBS writes `null` for every absent optional
//!   member, oicp-2.3.md §5.3); a mandatory member that is absent or `null` is an error.
//! * Members may have alternative spellings (the errata in oicp-2.3.md §8); the first spelling is
//!   the one written.
//! * Unknown members (such as `CustomData` or the HBS paging extras) are kept verbatim in `extra`
//!   and written back, so a forwarded message loses nothing.
//! * Mandatory lists may be declared non-empty.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

use super::status::Code;
use super::validate::{Validate, ValidationError, Validator};

/// Members of an object that the model does not know, kept verbatim (in key order) so that a
/// forwarded or stored message loses nothing.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as `$.A.B[0].C`.
pub(crate) fn render_path(path: &[Seg]) -> String {
    let mut out = String::from("$");
    for seg in path {
        match seg {
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

#[derive(Debug, Default)]
struct Collector {
    path: Vec<Seg>,
    errors: Vec<ValidationError>,
}

thread_local! {
    static COLLECTING: Cell<bool> = const { Cell::new(false) };
    static COLLECTOR: RefCell<Collector> = RefCell::new(Collector::default());
}

/// The message of an error that has already been recorded further down; parents pass it up
/// without recording it again.
const REPORTED: &str = "\u{1}already reported";

/// Whether the current thread runs a collect-mode pass.
#[doc(hidden)]
#[inline]
pub fn collecting() -> bool {
    COLLECTING.with(Cell::get)
}

fn with_collector<R>(f: impl FnOnce(&mut Collector) -> R) -> R {
    COLLECTOR.with(|c| f(&mut c.borrow_mut()))
}

#[doc(hidden)]
pub fn push_key(key: &str) {
    with_collector(|c| c.path.push(Seg::Key(key.to_owned())));
}

#[doc(hidden)]
pub fn push_index(index: usize) {
    with_collector(|c| c.path.push(Seg::Index(index)));
}

#[doc(hidden)]
pub fn pop() {
    with_collector(|c| {
        c.path.pop();
    });
}

/// Records an error at the current path (collect mode only).
#[doc(hidden)]
pub fn record(code: Code, message: String) {
    with_collector(|c| {
        let path = render_path(&c.path);
        c.errors.push(ValidationError::new(path, code, message));
    });
}

/// Records `err` at the current path unless it was recorded further down already.
#[doc(hidden)]
pub fn record_error<E: fmt::Display>(err: &E) {
    let message = err.to_string();
    if message != REPORTED {
        record(Code::DataError, message);
    }
}

/// The error a collect-mode visitor returns once it has recorded its own errors.
#[doc(hidden)]
pub fn reported<E: de::Error>() -> E {
    E::custom(REPORTED)
}

/// A member name, borrowed from the input where possible.
#[doc(hidden)]
#[derive(Debug)]
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The outcome of reading one member in collect mode.
#[doc(hidden)]
#[derive(Debug)]
pub enum Slot<T> {
    /// Read; `None` for an explicit `null`.
    Value(Option<T>),
    /// Present but invalid; the error is recorded.
    Failed,
}

/// Reads the value of member `key` as `Option<T>` (so that `null` is absent).
#[doc(hidden)]
#[inline]
pub fn next_member<'de, A, T>(map: &mut A, collect: bool, key: &str) -> Result<Slot<T>, A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    if !collect {
        return map.next_value::<Option<T>>().map(Slot::Value);
    }
    Ok(next_member_collecting(map, key))
}

/// [`next_member`] in collect mode.
#[cold]
#[inline(never)]
fn next_member_collecting<'de, A, T>(map: &mut A, key: &str) -> Slot<T>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    push_key(key);
    let result = map.next_value::<Option<T>>();
    let slot = match result {
        Ok(v) => Slot::Value(v),
        Err(e) => {
            record_error(&e);
            Slot::Failed
        }
    };
    pop();
    slot
}

/// Reads the value of list member `key`; in collect mode every element is read even when an
/// earlier one failed.
#[doc(hidden)]
#[inline]
pub fn next_list<'de, A, T>(map: &mut A, collect: bool, key: &str) -> Result<Slot<Vec<T>>, A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    if !collect {
        return map.next_value::<Option<Vec<T>>>().map(Slot::Value);
    }
    Ok(next_list_collecting(map, key))
}

/// [`next_list`] in collect mode.
#[cold]
#[inline(never)]
fn next_list_collecting<'de, A, T>(map: &mut A, key: &str) -> Slot<Vec<T>>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    push_key(key);
    let result = map.next_value_seed(ListSeed::<T>(PhantomData));
    let slot = match result {
        Ok(v) => Slot::Value(v),
        Err(e) => {
            record_error(&e);
            Slot::Failed
        }
    };
    pop();
    slot
}

struct ListSeed<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> de::DeserializeSeed<'de> for ListSeed<T> {
    type Value = Option<Vec<T>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListSeed<T> {
    type Value = Option<Vec<T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer
            .deserialize_seq(CollectingSeq::<T>(PhantomData))
            .map(Some)
    }
}

struct CollectingSeq<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for CollectingSeq<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        let mut failed = false;
        let mut index = 0;
        loop {
            push_index(index);
            let next = seq.next_element::<T>();
            let done = match next {
                Ok(Some(v)) => {
                    out.push(v);
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    record_error(&e);
                    failed = true;
                    false
                }
            };
            pop();
            if done {
                break;
            }
            index += 1;
        }
        if failed { Err(reported()) } else { Ok(out) }
    }
}

/// Stores a member that was read; reports duplicates.
#[doc(hidden)]
#[inline]
pub fn store<T, E: de::Error>(
    slot: &mut Option<Slot<T>>,
    value: Slot<T>,
    collect: bool,
    key: &'static str,
) -> Result<(), E> {
    if slot.is_some() {
        return duplicate(slot, collect, key);
    }
    *slot = Some(value);
    Ok(())
}

/// A member read a second time ([`store`]).
#[cold]
#[inline(never)]
fn duplicate<T, E: de::Error>(
    slot: &mut Option<Slot<T>>,
    collect: bool,
    key: &'static str,
) -> Result<(), E> {
    if collect {
        push_key(key);
        record(
            Code::DataError,
            format!("member {key} appears more than once"),
        );
        pop();
        *slot = Some(Slot::Failed);
        return Ok(());
    }
    Err(E::duplicate_field(key))
}

/// Finishes a mandatory member: absent, `null` and (when `non_empty`) empty lists are errors.
#[doc(hidden)]
pub fn finish_required<T, E: de::Error>(
    slot: Option<Slot<T>>,
    collect: bool,
    key: &'static str,
    failed: &mut bool,
) -> Result<Option<T>, E> {
    match slot {
        Some(Slot::Value(Some(v))) => Ok(Some(v)),
        Some(Slot::Failed) => {
            *failed = true;
            Ok(None)
        }
        Some(Slot::Value(None)) | None => {
            if collect {
                push_key(key);
                record(
                    Code::DataError,
                    format!("mandatory member {key} is missing or null"),
                );
                pop();
                *failed = true;
                Ok(None)
            } else {
                Err(E::missing_field(key))
            }
        }
    }
}

/// Checks a mandatory non-empty list.
#[doc(hidden)]
pub fn check_non_empty<T, E: de::Error>(
    list: Option<Vec<T>>,
    collect: bool,
    key: &'static str,
    failed: &mut bool,
) -> Result<Option<Vec<T>>, E> {
    match list {
        Some(v) if v.is_empty() => {
            let msg = format!("list {key} must not be empty");
            if collect {
                push_key(key);
                record(Code::DataError, msg);
                pop();
                *failed = true;
                Ok(None)
            } else {
                Err(E::custom(msg))
            }
        }
        other => Ok(other),
    }
}

/// Finishes an optional member.
#[doc(hidden)]
pub fn finish_optional<T>(slot: Option<Slot<T>>, failed: &mut bool) -> Option<T> {
    match slot {
        Some(Slot::Value(v)) => v,
        Some(Slot::Failed) => {
            *failed = true;
            None
        }
        None => None,
    }
}

/// Whether a member was present and not `null` (used by the exactly-one rule).
#[doc(hidden)]
pub fn present<T>(slot: Option<&Slot<T>>) -> bool {
    matches!(slot, Some(Slot::Value(Some(_)) | Slot::Failed))
}

/// Reports a rule that concerns the object being read (not one member of it).
#[doc(hidden)]
pub fn object_error<E: de::Error>(
    collect: bool,
    message: String,
    failed: &mut bool,
) -> Result<(), E> {
    if collect {
        record(Code::DataError, message);
        *failed = true;
        Ok(())
    } else {
        Err(E::custom(message))
    }
}

/// Defines an OICP object type: the struct, its `Deserialize` and its `Serialize`.
///
/// ```text
/// wire_struct! {
///     /// doc
///     pub struct EvseStatusRecord {
///         /// doc
///         req "EvseID" => evse_id: EvseId,
///         opt "ChargingStationID" | "ChargingStationId" => station_id: String,
///         list "Plugs" => plugs: Plug,             // mandatory list, may be empty
///         nelist "Plugs" => plugs: Plug,           // mandatory list, not empty
///         optlist "AdditionalInfo" => info: InfoText,
///     }
/// }
/// ```
/// `opt` fields become `Option<T>`, `list`/`nelist` become `Vec<T>`, `optlist`
/// `Option<Vec<T>>`. Put `exactly_one;` before the struct when exactly one member must be present
/// (Identification, GeoCoordinates).
#[macro_export]
#[doc(hidden)]
macro_rules! wire_struct {
    (exactly_one; $($rest:tt)*) => { $crate::wire_struct!(@impl true; $($rest)*); };
    (@impl $one:literal;
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $kind:ident $key:literal $(| $alias:literal)* => $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $crate::wire_struct!(@ty $kind $ty),
            )*
            /// Members this model does not know, kept verbatim so a forwarded message loses
            /// nothing.
            pub extra: $crate::oicp::v23::wire::Extra,
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> ::serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("an object ", stringify!($name)))
                    }
                    #[allow(unused_mut, unused_variables, clippy::too_many_lines)]
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        use $crate::oicp::v23::wire as w;
                        let collect = w::collecting();
                        $( let mut $field: Option<w::Slot<$crate::wire_struct!(@inner $kind $ty)>> = None; )*
                        let mut extra = w::Extra::new();
                        while let Some(key) = map.next_key::<w::Key<'de>>()? {
                            match key.0.as_ref() {
                                $(
                                    $key $(| $alias)* => {
                                        let v = $crate::wire_struct!(@read $kind map collect key.0.as_ref());
                                        w::store(&mut $field, v, collect, $key)?;
                                    }
                                )*
                                _ => {
                                    let v: ::serde_json::Value = map.next_value()?;
                                    extra.insert(key.0.into_owned(), v);
                                }
                            }
                        }
                        let mut failed = false;
                        if $one {
                            let names: &[&str] = &[$($key),*];
                            let flags = [$(w::present($field.as_ref())),*];
                            let count = flags.iter().filter(|p| **p).count();
                            if count != 1 {
                                let found: Vec<&str> = names.iter().zip(flags.iter()).filter(|(_, p)| **p).map(|(n, _)| *n).collect();
                                w::object_error::<A::Error>(collect, format!(
                                    "exactly one of {} must be present, found {}{}",
                                    names.join(", "), count,
                                    if found.is_empty() { String::new() } else { format!(" ({})", found.join(", ")) }
                                ), &mut failed)?;
                            }
                        }
                        $( let $field = $crate::wire_struct!(@finish $kind $field collect $key failed); )*
                        if failed {
                            return Err(w::reported());
                        }
                        Ok($name {
                            $( $field: $crate::wire_struct!(@unwrap $kind $field), )*
                            extra,
                        })
                    }
                }
                deserializer.deserialize_map(V)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $( $crate::wire_struct!(@ser $kind map $key &self.$field); )*
                for (k, v) in &self.extra {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    };

    (@ty req $ty:ty) => { $ty };
    (@ty opt $ty:ty) => { Option<$ty> };
    (@ty list $ty:ty) => { Vec<$ty> };
    (@ty nelist $ty:ty) => { Vec<$ty> };
    (@ty optlist $ty:ty) => { Option<Vec<$ty>> };

    (@inner req $ty:ty) => { $ty };
    (@inner opt $ty:ty) => { $ty };
    (@inner list $ty:ty) => { Vec<$ty> };
    (@inner nelist $ty:ty) => { Vec<$ty> };
    (@inner optlist $ty:ty) => { Vec<$ty> };

    (@read req $map:ident $collect:ident $key:expr) => { w::next_member(&mut $map, $collect, $key)? };
    (@read opt $map:ident $collect:ident $key:expr) => { w::next_member(&mut $map, $collect, $key)? };
    (@read list $map:ident $collect:ident $key:expr) => { w::next_list(&mut $map, $collect, $key)? };
    (@read nelist $map:ident $collect:ident $key:expr) => { w::next_list(&mut $map, $collect, $key)? };
    (@read optlist $map:ident $collect:ident $key:expr) => { w::next_list(&mut $map, $collect, $key)? };

    (@finish req $f:ident $collect:ident $key:literal $failed:ident) => {
        w::finish_required::<_, A::Error>($f, $collect, $key, &mut $failed)?
    };
    (@finish list $f:ident $collect:ident $key:literal $failed:ident) => {
        w::finish_required::<_, A::Error>($f, $collect, $key, &mut $failed)?
    };
    (@finish nelist $f:ident $collect:ident $key:literal $failed:ident) => {
        w::check_non_empty::<_, A::Error>(
            w::finish_required::<_, A::Error>($f, $collect, $key, &mut $failed)?,
            $collect, $key, &mut $failed,
        )?
    };
    (@finish opt $f:ident $collect:ident $key:literal $failed:ident) => {
        w::finish_optional($f, &mut $failed)
    };
    (@finish optlist $f:ident $collect:ident $key:literal $failed:ident) => {
        w::finish_optional($f, &mut $failed)
    };

    (@unwrap req $f:ident) => { $f.ok_or_else(w::reported::<A::Error>)? };
    (@unwrap list $f:ident) => { $f.ok_or_else(w::reported::<A::Error>)? };
    (@unwrap nelist $f:ident) => { $f.ok_or_else(w::reported::<A::Error>)? };
    (@unwrap opt $f:ident) => { $f };
    (@unwrap optlist $f:ident) => { $f };

    (@ser req $map:ident $key:literal $v:expr) => { $map.serialize_entry($key, $v)?; };
    (@ser list $map:ident $key:literal $v:expr) => { $map.serialize_entry($key, $v)?; };
    (@ser nelist $map:ident $key:literal $v:expr) => { $map.serialize_entry($key, $v)?; };
    (@ser opt $map:ident $key:literal $v:expr) => { if let Some(v) = $v { $map.serialize_entry($key, v)?; } };
    (@ser optlist $map:ident $key:literal $v:expr) => { if let Some(v) = $v { $map.serialize_entry($key, v)?; } };
    ($($rest:tt)*) => { $crate::wire_struct!(@impl false; $($rest)*); };
}

/// Defines an OICP enumeration with its exact wire strings.
///
/// The spec closes every enumeration, so [`parse`] rejects values outside the list with the list
/// of allowed values. [`parse_forwarding`] keeps them in `Unknown(String)` instead, so that a
/// message the node only passes on loses nothing. Alternative spellings from the errata are
/// accepted (`| "alias"`) and written in the first spelling.
#[macro_export]
#[doc(hidden)]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal $(| $alias:literal)*
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value outside the spec's list, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// Every value the spec defines, in spec order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(s) => s.as_str(),
                }
            }

            /// Parses a wire string; unknown strings become `Unknown`.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $( $wire $(| $alias)* => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// Whether the value is one the spec defines.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " string"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        if $name::from_wire(v).is_known() || $crate::oicp::v23::wire::lenient_enums() {
                            Ok($name::from_wire(v))
                        } else {
                            Err(E::custom(format!(
                                "'{}' is not a valid {} (allowed: {})",
                                v, stringify!($name), [$($wire),*].join(", ")
                            )))
                        }
                    }
                }
                deserializer.deserialize_str(V)
            }
        }

    };
}

thread_local! {
    static LENIENT_ENUMS: Cell<bool> = const { Cell::new(false) };
}

/// Whether unknown enumeration values are kept (forwarding mode) instead of rejected.
#[doc(hidden)]
pub fn lenient_enums() -> bool {
    LENIENT_ENUMS.with(Cell::get)
}

/// Sets a thread-local flag for its lifetime and clears it on drop, also when a `Deserialize`
/// impl panics.
struct FlagGuard(&'static std::thread::LocalKey<Cell<bool>>);

impl FlagGuard {
    fn set(flag: &'static std::thread::LocalKey<Cell<bool>>) -> Self {
        flag.with(|c| c.set(true));
        Self(flag)
    }
}

impl Drop for FlagGuard {
    fn drop(&mut self) {
        self.0.with(|c| c.set(false));
    }
}

/// Like [`parse`], but enumeration values outside the spec's lists are kept (as `Unknown`)
/// instead of rejected: for messages the node passes on to a party that may know newer values.
/// Every other rule still applies.
pub fn parse_forwarding<T>(bytes: &[u8]) -> Result<T, Vec<ValidationError>>
where
    T: DeserializeOwned + Validate,
{
    let _lenient = FlagGuard::set(&LENIENT_ENUMS);
    parse(bytes)
}

/// Parses and validates one message: the typed value, or every error found with its JSON path.
///
/// Syntax errors (not JSON at all) come back as one error at `$` with line and column.
pub fn parse<T>(bytes: &[u8]) -> Result<T, Vec<ValidationError>>
where
    T: DeserializeOwned + Validate,
{
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => {
            let errors = Validator::run(&value);
            if errors.is_empty() {
                Ok(value)
            } else {
                Err(errors)
            }
        }
        Err(e) if e.is_syntax() || e.is_eof() || e.is_io() => Err(vec![ValidationError::new(
            "$".to_owned(),
            Code::DataError,
            format!("not valid JSON: {e}"),
        )]),
        Err(fast) => Err(collect_errors::<T>(bytes, &fast)),
    }
}

/// Parses a value that is already a [`serde_json::Value`] (for example a member of a larger
/// document), with the same rules as [`parse`].
pub fn parse_value<T>(value: &serde_json::Value) -> Result<T, Vec<ValidationError>>
where
    T: DeserializeOwned + Validate,
{
    match T::deserialize(value) {
        Ok(v) => {
            let errors = Validator::run(&v);
            if errors.is_empty() {
                Ok(v)
            } else {
                Err(errors)
            }
        }
        Err(fast) => Err(collect_from_value::<T>(value, &fast)),
    }
}

fn collect_errors<T>(bytes: &[u8], fast: &serde_json::Error) -> Vec<ValidationError>
where
    T: DeserializeOwned + Validate,
{
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => collect_from_value::<T>(&value, fast),
        Err(e) => vec![ValidationError::new(
            "$".to_owned(),
            Code::DataError,
            format!("not valid JSON: {e}"),
        )],
    }
}

fn collect_from_value<T>(value: &serde_json::Value, fast: &dyn fmt::Display) -> Vec<ValidationError>
where
    T: DeserializeOwned + Validate,
{
    with_collector(|c| *c = Collector::default());
    let guard = FlagGuard::set(&COLLECTING);
    let result = T::deserialize(value);
    drop(guard);
    let mut errors = with_collector(|c| std::mem::take(&mut c.errors));
    match result {
        Err(e) => {
            let message = e.to_string();
            if message != REPORTED && errors.is_empty() {
                errors.push(ValidationError::new(
                    "$".to_owned(),
                    Code::DataError,
                    message,
                ));
            }
        }
        Ok(v) => errors.extend(Validator::run(&v)),
    }
    if errors.is_empty() {
        // Cannot happen unless the fast and the collecting pass disagree; never hide the cause.
        errors.push(ValidationError::new(
            "$".to_owned(),
            Code::DataError,
            fast.to_string(),
        ));
    }
    errors
}
