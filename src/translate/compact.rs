//! A compact JSON serializer for the output arrays ([`super::io::JsonArray`]) that writes the
//! same bytes as `serde_json::to_writer`, at a fraction of the cost for our wire types (issue 6:
//! serializing the Locations of a large dump cost more than mapping them, most of it in
//! `serde_json`'s byte-by-byte string escaping).
//!
//! # Same bytes by construction
//! It covers the part of serde's data model our wire types use, written as `serde_json`'s
//! compact formatter writes it: maps, structs and sequences (`{`, `[`, `,`, `:`, no
//! whitespace), strings (copied between quotes when they hold nothing `serde_json` escapes,
//! else escaped by `serde_json` itself), integers (decimal digits), `bool`, `null` for `None`
//! and unit, and enum variants as `serde_json` writes them. Floats are written by `serde_json`.
//! Everything else (byte strings, 128-bit integers, `serde_json`'s private structs, map keys
//! that are not strings) is refused with [`Unsupported`], and the caller then writes the whole
//! value with `serde_json` instead: the output is the same either way.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Serializer};

/// The value uses something this serializer leaves to `serde_json` (see the module
/// documentation); nothing it wrote is to be used.
#[derive(Debug)]
pub(super) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self
    }
}

/// Writes `value` as compact JSON to the end of `out`; on [`Unsupported`], `out` holds a part
/// of it (the caller discards it).
pub(super) fn to_vec<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), Unsupported> {
    value.serialize(&mut Compact { out })
}

/// The serializer (see the module documentation).
struct Compact<'a> {
    out: &'a mut Vec<u8>,
}

/// Whether `bytes` hold a byte `serde_json` escapes (`"`, `\\`, below 0x20), a word at a
/// time: `x - 0x01… & !x & 0x80…` is non-zero exactly when a byte of `x` is zero, and with
/// `0x20…` when a byte is below 0x20. The last bytes are read as a word that overlaps the one
/// before (8 bytes and longer) or as two overlapping 4-byte words (4 to 7 bytes): most strings
/// are short (member names, ids), and testing their tail byte by byte cost more than the rest.
pub(crate) fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let hits = |x: u64| {
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        (x.wrapping_sub(ONES * 0x20) & !x)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
    };
    let word = |w: &[u8]| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let n = bytes.len();
    if n >= 8 {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            if hits(word(w)) & HIGH != 0 {
                return true;
            }
        }
        return !words.remainder().is_empty() && hits(word(&bytes[n - 8..])) & HIGH != 0;
    }
    if n >= 4 {
        // Both halves in one word: the first 4 bytes low, the last 4 high.
        let half = |w: &[u8]| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        return hits(half(bytes) | half(&bytes[n - 4..]) << 32) & HIGH != 0;
    }
    bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

impl Compact<'_> {
    fn str(&mut self, s: &str) -> Result<(), Unsupported> {
        if needs_escape(s.as_bytes()) {
            serde_json::to_writer(&mut *self.out, s).map_err(|_| Unsupported)
        } else {
            self.out.reserve(s.len() + 2);
            self.out.push(b'"');
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(b'"');
            Ok(())
        }
    }

    fn u64(&mut self, n: u64) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    fn i64(&mut self, n: i64) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// A map, struct or sequence being written: `first` until its first element.
struct Compound<'b, 'a> {
    ser: &'b mut Compact<'a>,
    first: bool,
    /// What closes it: `}`, `]`, or `]}` / `}}` for a tuple or struct variant.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !self.first {
            self.ser.out.push(b',');
        }
        self.first = false;
    }

    /// A map key: must come out as a JSON string, as `serde_json` requires.
    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), Unsupported> {
        self.comma();
        let at = self.ser.out.len();
        key.serialize(&mut *self.ser)?;
        if self.ser.out.get(at) == Some(&b'"') {
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    fn field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), Unsupported> {
        self.comma();
        self.ser.str(key)?;
        self.ser.out.push(b':');
        value.serialize(&mut *self.ser)
    }

    fn element<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Unsupported> {
        self.comma();
        value.serialize(&mut *self.ser)
    }

    fn close(self) {
        self.ser.out.extend_from_slice(self.close);
    }
}

impl<'b, 'a> Serializer for &'b mut Compact<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'b, 'a>;
    type SerializeTuple = Compound<'b, 'a>;
    type SerializeTupleStruct = Compound<'b, 'a>;
    type SerializeTupleVariant = Compound<'b, 'a>;
    type SerializeMap = Compound<'b, 'a>;
    type SerializeStruct = Compound<'b, 'a>;
    type SerializeStructVariant = Compound<'b, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.i64(v.into());
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.i64(v.into());
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.i64(v.into());
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.i64(v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.u64(v.into());
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.u64(v.into());
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.u64(v.into());
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.u64(v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        serde_json::to_writer(&mut *self.out, &v).map_err(|_| Unsupported)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        serde_json::to_writer(&mut *self.out, &v).map_err(|_| Unsupported)
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.str(v)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.out.push(b'{');
        self.str(variant)?;
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'b, 'a>, Unsupported> {
        self.out.push(b'[');
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]",
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'b, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'b, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'b, 'a>, Unsupported> {
        self.out.push(b'{');
        self.str(variant)?;
        self.out.extend_from_slice(b":[");
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]}",
        })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'b, 'a>, Unsupported> {
        self.out.push(b'{');
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}",
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Compound<'b, 'a>, Unsupported> {
        // `serde_json`'s own number and raw-value tokens.
        if name.starts_with("$serde_json") {
            return Err(Unsupported);
        }
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'b, 'a>, Unsupported> {
        self.out.push(b'{');
        self.str(variant)?;
        self.out.extend_from_slice(b":{");
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}}",
        })
    }

    fn serialize_i128(self, _: i128) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_u128(self, _: u128) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
}

/// The compound traits whose members are elements (`[a,b]`), each with its method's name.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                self.element(value)
            }
            fn end(self) -> Result<(), Unsupported> {
                self.close();
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The compound traits whose members are named fields (`{"k":v}`).
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Unsupported;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Unsupported> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Unsupported> {
                self.close();
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.ser.out.push(b':');
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn same<T: Serialize + ?Sized>(value: &T) {
        let mut fast = Vec::new();
        to_vec(&mut fast, value).unwrap();
        let reference = serde_json::to_vec(value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&reference)
        );
    }

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { a: Option<bool>, b: f64 },
    }

    #[derive(Serialize)]
    struct S<'a> {
        name: &'a str,
        list: Vec<E>,
        empty: Vec<u8>,
        map: BTreeMap<String, serde_json::Value>,
        unit: (),
        tuple: (u16, char),
        min: i64,
        max: u64,
    }

    #[test]
    fn writes_what_serde_json_writes() {
        same(&json!({
            "a": [1, -2, 3.5, 1e300, 0.1, -0.0, null, true, false, "x"],
            "esc\"aped": "quote \" backslash \\ newline \n tab \t bell \u{7} nul \0 del \u{7f} é €",
            "nested": {"k": [{}, [], [[]], ""]},
            "long": "0123456789abcdef0123456789abcdef"
        }));
        same(&S {
            name: "n\u{1f}",
            list: vec![
                E::Unit,
                E::New(7),
                E::Tuple(-1, "t".into()),
                E::Struct {
                    a: None,
                    b: f64::NAN,
                },
                E::Struct {
                    a: Some(true),
                    b: 2.0,
                },
            ],
            empty: vec![],
            map: BTreeMap::from([("k\\".into(), json!(1)), ("z".into(), json!([1.25]))]),
            unit: (),
            tuple: (65535, '"'),
            min: i64::MIN,
            max: u64::MAX,
        });
        for s in [
            "",
            "a",
            "1234567",
            "12345678",
            "123456789\"",
            "\u{1}1234567",
        ] {
            same(s);
        }
    }

    #[test]
    fn needs_escape_finds_every_special_byte_at_every_place() {
        let bytewise = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        for len in 0..=20 {
            let mut text = vec![b'a'; len];
            assert!(!needs_escape(&text));
            for at in 0..len {
                for special in [
                    b'"', b'\\', 0, 0x1f, b'\n', 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b']',
                ] {
                    let saved = text[at];
                    text[at] = special;
                    assert_eq!(
                        needs_escape(&text),
                        bytewise(&text),
                        "{special:#x} at {at} of {len}"
                    );
                    text[at] = saved;
                }
            }
        }
    }

    #[test]
    fn leaves_the_rest_to_serde_json() {
        let mut out = Vec::new();
        assert!(to_vec(&mut out, &BTreeMap::from([(1, 2)])).is_err());
        assert!(to_vec(&mut out, &1u128).is_err());
        assert!(to_vec(&mut out, serde_bytes_like()).is_err());
    }

    /// A value that serializes as a byte string.
    fn serde_bytes_like() -> &'static impl Serialize {
        struct Bytes;
        impl Serialize for Bytes {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b"ab")
            }
        }
        &Bytes
    }
}
