//! Reading documents and writing JSON for the translations: arrays written element by element,
//! loss-note sinks, the envelope probe, and top-level arrays parsed one element at a time with
//! JSON-path errors.

use std::fmt;
use std::io::Write;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserializer, Serialize};

use super::compact::{self, needs_escape};
use super::{InputError, LossSink, TranslateError};
use crate::mapping::LossNote;
use crate::oicp::v23::validate::{Validate, Validator};
use crate::oicp::v23::wire::parse_value;

/// A JSON array written one element at a time: `[`, then each element on its own line, then
/// `]`. Nothing is kept but the writer.
#[derive(Debug)]
pub struct JsonArray<W: Write> {
    out: W,
    empty: bool,
    /// The element being written (reused).
    buf: Vec<u8>,
}

impl<W: Write> JsonArray<W> {
    /// Starts the array.
    pub fn start(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"[")?;
        Ok(Self {
            out,
            empty: true,
            buf: Vec::new(),
        })
    }

    /// Writes one element, compact, as `serde_json::to_writer` writes it ([`push_element`]).
    pub fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> std::io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let written = push_element(&mut buf, value).and_then(|()| self.raw_element(&buf));
        self.buf = buf;
        written
    }

    /// Writes one element that is already serialized (as [`JsonArray::element`] would have
    /// written it).
    pub fn raw_element(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out
            .write_all(if self.empty { b"\n" } else { b",\n" })?;
        self.empty = false;
        self.out.write_all(bytes)
    }

    /// Closes the array (and the line) and flushes; returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out
            .write_all(if self.empty { b"]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Appends `value` to `buf`, compact, as `serde_json::to_writer` writes it: with
/// [`compact::to_vec`] (the same bytes, faster; issue 6), or, for a value that uses what it
/// leaves to `serde_json`, with `serde_json` itself.
pub fn push_element<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> std::io::Result<()> {
    let start = buf.len();
    if compact::to_vec(buf, value).is_ok() {
        return Ok(());
    }
    buf.truncate(start);
    serde_json::to_writer(&mut *buf, value).map_err(std::io::Error::from)
}

/// Loss notes as lines `path: reason`.
#[derive(Debug)]
pub struct NoteLines<W: Write>(pub W);

impl<W: Write> LossSink for NoteLines<W> {
    fn note(&mut self, note: &LossNote) -> std::io::Result<()> {
        writeln!(self.0, "{}: {}", note.path, note.reason)
    }
}

/// Loss notes as a JSON array of `{"path": …, "reason": …}` objects, written as they come;
/// [`JsonReport::finish`] closes it.
#[derive(Debug)]
pub struct JsonReport<W: Write>(JsonArray<W>);

/// A note as `serde_json` writes it; the reference for [`JsonReport`]'s own writing.
#[cfg(test)]
#[derive(Serialize)]
struct NoteJson<'a> {
    path: &'a str,
    reason: &'a str,
}

impl<W: Write> JsonReport<W> {
    /// Starts the report.
    pub fn start(out: W) -> std::io::Result<Self> {
        JsonArray::start(out).map(Self)
    }

    /// Closes the array and flushes.
    pub fn finish(self) -> std::io::Result<W> {
        self.0.finish()
    }
}

impl<W: Write> JsonReport<W> {
    /// Appends one note to the array's buffer (see [`LossSink::note`] below).
    fn push_note(&mut self, note: &LossNote) -> std::io::Result<()> {
        let array = &mut self.0;
        let buf = &mut array.buf;
        buf.extend_from_slice(if array.empty {
            b"\n{\"path\":"
        } else {
            b",\n{\"path\":"
        });
        array.empty = false;
        push_json_str(buf, &note.path)?;
        buf.extend_from_slice(b",\"reason\":");
        push_json_str(buf, &note.reason)?;
        buf.push(b'}');
        Ok(())
    }
}

impl<W: Write> LossSink for JsonReport<W> {
    /// Writes `{"path":…,"reason":…}` as `serde_json` would serialize [`NoteJson`] (compact,
    /// members in that order), without going through a serializer per note: a large dump has
    /// about 15 notes per record and the report is larger than the output (issue 6). A test
    /// compares both forms byte for byte.
    fn note(&mut self, note: &LossNote) -> std::io::Result<()> {
        self.notes(std::slice::from_ref(note))
    }

    /// The notes are put together in one buffer and written at once (one write per record's
    /// notes instead of five per note).
    fn notes(&mut self, notes: &[LossNote]) -> std::io::Result<()> {
        self.0.buf.clear();
        for note in notes {
            self.push_note(note)?;
        }
        let array = &mut self.0;
        array.out.write_all(&array.buf)
    }
}

/// Appends `s` as a JSON string, byte for byte as `serde_json` writes it: text with nothing to
/// escape (no `"`, `\\` or control character; `serde_json` escapes nothing else) is copied
/// between quotes, anything else goes through `serde_json`.
fn push_json_str(buf: &mut Vec<u8>, s: &str) -> std::io::Result<()> {
    if needs_escape(s.as_bytes()) {
        serde_json::to_writer(&mut *buf, s).map_err(std::io::Error::from)
    } else {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
        Ok(())
    }
}

/// The outline of a document: an array, or an object with these member names.
#[derive(Debug, PartialEq, Eq)]
pub enum Envelope {
    /// A top-level array.
    Array,
    /// A top-level object and its member names, in order.
    Object(Vec<String>),
}

impl Envelope {
    /// Whether the document is an object with member `key`.
    pub fn has(&self, key: &str) -> bool {
        matches!(self, Self::Object(keys) if keys.iter().any(|k| k == key))
    }
}

/// Reads the top level of a document for [`envelope`].
struct Probe;
impl<'de> Visitor<'de> for Probe {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array or object")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Envelope, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Envelope::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut keys = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            keys.push(k);
        }
        Ok(Envelope::Object(keys))
    }
}

/// Reads the outline of a document without building it (values are skipped). Input that is not
/// JSON, or neither an array nor an object, is an error at `$`.
///
/// A document that starts with `[` is taken as an array without reading on: the element-wise
/// parse that follows reports any defect (this saves a pass over large dumps).
pub fn envelope(input: &[u8]) -> Result<Envelope, TranslateError> {
    if input.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Ok(Envelope::Array);
    }
    let mut de = serde_json::Deserializer::from_slice(input);
    de.deserialize_any(Probe)
        .and_then(|e| de.end().map(|()| e))
        .map_err(|e| TranslateError::invalid("$", format!("not valid JSON: {e}")))
}

/// Parses a top-level JSON array of `T`, handing each element (with its index) to `each` as
/// soon as it is read, so that the elements never exist all at once. Each element is validated
/// (`Validate`) before `each` sees it.
///
/// On a defect the elements are parsed again one by one to report every error with its path
/// (`$[3].Plugs[0]`), as [`crate::oicp::v23::wire::parse`] does for a whole message. `each` may
/// have seen the elements before the first defect.
pub fn for_each_element<T, F>(input: &[u8], mut each: F) -> Result<(), TranslateError>
where
    T: DeserializeOwned + Validate,
    F: FnMut(usize, T) -> Result<(), TranslateError>,
{
    let mut stopped = None;
    let result = {
        let seed = EachSeed::<T, _> {
            each: &mut each,
            stopped: &mut stopped,
            _t: PhantomData,
        };
        let mut de = serde_json::Deserializer::from_slice(input);
        seed.deserialize(&mut de).and_then(|()| de.end())
    };
    match (result, stopped) {
        (_, Some(e)) => Err(e),
        (Ok(()), None) => Ok(()),
        (Err(e), None) if e.is_syntax() || e.is_eof() => {
            Err(TranslateError::invalid("$", format!("not valid JSON: {e}")))
        }
        (Err(e), None) => Err(element_errors::<T>(input, &e)),
    }
}

struct EachSeed<'a, T, F> {
    each: &'a mut F,
    stopped: &'a mut Option<TranslateError>,
    _t: PhantomData<T>,
}

impl<'de, T, F> DeserializeSeed<'de> for EachSeed<'_, T, F>
where
    T: DeserializeOwned + Validate,
    F: FnMut(usize, T) -> Result<(), TranslateError>,
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T, F> Visitor<'de> for EachSeed<'_, T, F>
where
    T: DeserializeOwned + Validate,
    F: FnMut(usize, T) -> Result<(), TranslateError>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<T>()? {
            if !Validator::run(&value).is_empty() {
                // Reported with paths by `element_errors`.
                return Err(de::Error::custom("invalid element"));
            }
            if let Err(e) = (self.each)(index, value) {
                *self.stopped = Some(e);
                return Err(de::Error::custom("stopped"));
            }
            index += 1;
        }
        Ok(())
    }
}

/// Every error of every element of a top-level array, with paths `$[i]…`.
fn element_errors<T>(input: &[u8], first: &serde_json::Error) -> TranslateError
where
    T: DeserializeOwned + Validate,
{
    let elements = match serde_json::from_slice::<Vec<serde_json::Value>>(input) {
        Ok(v) => v,
        Err(e) => {
            return TranslateError::invalid("$", format!("expected a JSON array: {e}"));
        }
    };
    let mut errors: Vec<InputError> = Vec::new();
    for (i, element) in elements.iter().enumerate() {
        if let Err(list) = parse_value::<T>(element) {
            errors.extend(list.into_iter().map(|e| InputError {
                path: element_path(i, &e.path),
                message: e.message,
            }));
        }
    }
    if errors.is_empty() {
        errors.push(InputError::new("$", first.to_string()));
    }
    TranslateError::Invalid(errors)
}

/// `$[i]` followed by the rest of a path that starts at the element (`$.EvseID` -> `$[3].EvseID`).
pub fn element_path(index: usize, path: &str) -> String {
    format!("$[{index}]{}", path.strip_prefix('$').unwrap_or(path))
}

/// Parses a top-level JSON array of raw values (for forms that decide per element what they
/// hold).
pub fn array_of_values(input: &[u8]) -> Result<Vec<serde_json::Value>, TranslateError> {
    serde_json::from_slice(input)
        .map_err(|e| TranslateError::invalid("$", format!("expected a JSON array: {e}")))
}

/// Parses one element that is already a value, with errors at `$[index]…`.
pub fn element<T>(index: usize, value: &serde_json::Value) -> Result<T, TranslateError>
where
    T: DeserializeOwned + Validate,
{
    parse_value::<T>(value).map_err(|errors| {
        TranslateError::Invalid(
            errors
                .into_iter()
                .map(|e| InputError {
                    path: element_path(index, &e.path),
                    message: e.message,
                })
                .collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn reparse<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> T {
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}"))
    }
    use crate::oicp::v23::evse_status::EvseStatusRecord;

    #[test]
    fn arrays_are_written_element_by_element() {
        let mut a = JsonArray::start(Vec::new()).unwrap();
        a.element(&1).unwrap();
        a.element("two").unwrap();
        let out = a.finish().unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "[\n1,\n\"two\"\n]\n");
        let empty = JsonArray::start(Vec::new()).unwrap().finish().unwrap();
        let back: Vec<i32> = reparse(&empty);
        assert!(back.is_empty());
    }

    #[test]
    fn report_is_a_json_array_of_notes() {
        let mut r = JsonReport::start(Vec::new()).unwrap();
        r.notes(&[LossNote::new("a", "b"), LossNote::new("c", "d\"e")])
            .unwrap();
        let v: serde_json::Value = reparse(&r.finish().unwrap());
        assert_eq!(
            v,
            serde_json::json!([{"path": "a", "reason": "b"}, {"path": "c", "reason": "d\"e"}])
        );
    }

    #[test]
    fn escape_test_agrees_with_the_bytewise_one() {
        let bytewise = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        let mut text: Vec<u8> =
            b"EvseDataRecord[12].AuthenticationModes[0] Stra\xc3\x9fe ok".to_vec();
        assert!(!needs_escape(&text));
        for at in 0..text.len() {
            for special in [
                b'"', b'\\', 0, 0x1f, b'\n', 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']',
            ] {
                let saved = text[at];
                text[at] = special;
                for start in 0..9.min(text.len()) {
                    assert_eq!(
                        needs_escape(&text[start..]),
                        bytewise(&text[start..]),
                        "{special:#x} at {at} from {start}"
                    );
                }
                text[at] = saved;
            }
        }
    }

    #[test]
    fn report_notes_are_written_as_serde_json_writes_them() {
        let notes = [
            LossNote::new("EvseDataRecord[0].HotlinePhoneNumber", "plain text"),
            LossNote::new("a\"b", "back\\slash"),
            LossNote::new("tab\there", "new\nline and \u{1} and \u{7f}"),
            LossNote::new("", "non-ASCII: Straße, 東京, emoji \u{1f50c}"),
        ];
        let mut fast = JsonReport::start(Vec::new()).unwrap();
        fast.notes(&notes).unwrap();
        let fast = fast.finish().unwrap();
        let mut slow = JsonArray::start(Vec::new()).unwrap();
        for note in &notes {
            slow.element(&NoteJson {
                path: &note.path,
                reason: &note.reason,
            })
            .unwrap();
        }
        let slow = slow.finish().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&slow)
        );
        let empty = JsonReport::start(Vec::new()).unwrap().finish().unwrap();
        assert_eq!(empty, b"[]\n");
    }

    #[test]
    fn envelope_names_the_members() {
        assert_eq!(envelope(b" [1, {}] ").unwrap(), Envelope::Array);
        assert_eq!(envelope(b"\n[").unwrap(), Envelope::Array, "checked later");
        let e = envelope(br#"{"A": {"x": [1]}, "B": null}"#).unwrap();
        assert!(e.has("A") && e.has("B") && !e.has("x"));
        assert!(matches!(envelope(b"{"), Err(TranslateError::Invalid(_))));
        assert!(matches!(envelope(b"1"), Err(TranslateError::Invalid(_))));
    }

    #[test]
    fn elements_stream_and_errors_carry_paths() {
        let good = br#"[{"EvseID": "DE*ABC*E1", "EvseStatus": "Available"},
                        {"EvseID": "DE*ABC*E2", "EvseStatus": "Occupied"}]"#;
        let mut seen = Vec::new();
        for_each_element::<EvseStatusRecord, _>(good, |i, r| {
            seen.push((i, r.evse_id.to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].0, 1);

        let bad = br#"[{"EvseID": "DE*ABC*E1", "EvseStatus": "Available"},
                       {"EvseID": "DE*ABC*E2", "EvseStatus": "Sleeping"},
                       {"EvseStatus": "Occupied"}]"#;
        let Err(TranslateError::Invalid(errors)) =
            for_each_element::<EvseStatusRecord, _>(bad, |_, _| Ok(()))
        else {
            panic!("invalid input accepted");
        };
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["$[1].EvseStatus", "$[2].EvseID"], "{errors:?}");
    }
}
