//! `evse-data` <-> `locations`.
//!
//! # OICP form (input of `oicp-to-ocpi`)
//! One of, told apart by the top level:
//! * a JSON array of pulled `EvseDataRecord`s (each with its `OperatorID`, as the HBS returns
//!   them): read one record at a time, so a large dump is never held as records;
//! * an `eRoamingPushEvseData` body (`OperatorEvseData`): the records get the push's operator;
//! * an `eRoamingEvseData` page, the answer of `eRoamingPullEvseData` (`content`).
//!
//! Push and page bodies are parsed whole (with the push rules for a push), then mapped record by
//! record.
//!
//! # OCPI form
//! A JSON array of Locations, written one Location at a time as soon as it is complete
//! ([`LocationGrouper`]): the mapped EVSEs are held until the input ends (a Location may get an
//! EVSE from the last record), the serialized output never.
//!
//! # Threads (issue 6)
//! A top-level array is read by a pipeline ([`pipeline`]): a scanner thread splits it into
//! element byte ranges, parsing threads (one per core, at most [`MAX_WORKERS`]) parse, validate
//! and map chunks of [`BATCH`] elements each on their own ([`RecordMapper`]), and the calling
//! thread takes the chunks back in input order, groups them ([`LocationGrouper::accept`]),
//! writes the loss notes and finally the Locations. Grouping and the notes see the records in
//! the same order as a sequential run, and any defect is left to the sequential parse, so
//! output, notes and errors are the same (tested against [`LocationGrouper::push`] in
//! `tests/translate_pipeline.rs`): records before an invalid one are grouped and their notes
//! written, as before.

use std::io::{BufWriter, Write};
use std::sync::mpsc::{Receiver, SyncSender};

use super::io::{Envelope, JsonArray, envelope, for_each_element, push_element};
use super::{LossSink, TranslateError};
use crate::mapping::MappingCtx;
use crate::mapping::evse_location::{
    LocationGrouper, PendingLocation, PreparedRecord, RecordMapper,
};
use crate::oicp::v23::evse_data::{EvseDataPage, PullEvseDataRecord, PushEvseData};
use crate::oicp::v23::validate::Validator;
use crate::oicp::v23::wire::parse;

/// OICP EVSE data (any of the forms above) -> a JSON array of OCPI Locations.
pub fn oicp_to_ocpi(
    input: &[u8],
    ctx: &MappingCtx,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let mut grouper = LocationGrouper::new(ctx)?;
    let mut push = |record: &PullEvseDataRecord| -> Result<(), TranslateError> {
        grouper.push(record)?;
        losses.notes(&grouper.take_losses())?;
        Ok(())
    };
    match envelope(input)? {
        Envelope::Array => {
            let mapper = grouper.mapper();
            pipeline(input, mapper, |batch| {
                for prepared in batch {
                    grouper.accept(prepared);
                }
                losses.notes(&grouper.take_losses())
            })?;
        }
        e if e.has("OperatorEvseData") => {
            let body: PushEvseData = parse(input)?;
            let data = body.operator_evse_data;
            let extra = data.extra.keys().cloned().collect::<Vec<_>>();
            for record in data.into_pull_records() {
                push(&record)?;
            }
            for key in extra {
                losses.note(&crate::mapping::LossNote::new(
                    format!("OperatorEvseData.{key}"),
                    "not an OICP OperatorEvseData member; not carried",
                ))?;
            }
        }
        e if e.has("content") => {
            let page: EvseDataPage = parse(input)?;
            for record in page.content {
                push(&record)?;
            }
        }
        Envelope::Object(_) => {
            return Err(TranslateError::invalid(
                "$",
                "expected a JSON array of EvseDataRecords, an eRoamingPushEvseData body (OperatorEvseData) or an eRoamingEvseData page (content)",
            ));
        }
    }
    write_locations(grouper.finish_pending(), out)
}

/// Locations per chunk of the parallel output.
pub const OUT_BATCH: usize = 128;

/// A chunk's Locations, serialized one after the other (`ends`: where each ends in `bytes`),
/// and the error that stopped the chunk, if one did.
struct Serialized {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    error: Option<TranslateError>,
}

/// Builds and serializes the Locations and writes them as a JSON array, in order.
///
/// Building and serializing them on one thread was about a seventh of the whole translation,
/// with every other thread done (issue 6): the Locations go in chunks of [`OUT_BATCH`]
/// round-robin to one thread per core (at most [`MAX_WORKERS`]), which build and serialize
/// them ([`push_element`]: the bytes [`JsonArray::element`] writes) and stop a chunk at its
/// first error; this thread writes the chunks in order and returns that error after the
/// Locations before it, as the one-thread loop did. At most [`IN_FLIGHT`] chunks per thread
/// and direction are held, so the output is never in memory whole.
fn write_locations(
    pending: Vec<PendingLocation>,
    out: &mut dyn Write,
) -> Result<(), TranslateError> {
    let mut array = JsonArray::start(BufWriter::with_capacity(1 << 16, out))?;
    let workers = workers();
    if workers == 1 || pending.len() <= OUT_BATCH {
        for location in pending {
            array.element(&location.build()?)?;
        }
        array.finish()?;
        return Ok(());
    }
    in_order(
        workers,
        move |jobs| {
            let mut rest = pending.into_iter();
            for turn in (0..jobs.len()).cycle() {
                let chunk: Vec<_> = rest.by_ref().take(OUT_BATCH).collect();
                // A hang-up: this thread stopped on an error.
                if chunk.is_empty() || jobs[turn].send(chunk).is_err() {
                    return;
                }
            }
        },
        serialize_chunks,
        |done: Serialized| -> Result<bool, TranslateError> {
            let mut start = 0;
            for &end in &done.ends {
                array.raw_element(&done.bytes[start..end])?;
                start = end;
            }
            done.error.map_or(Ok(true), Err)
        },
    )?;
    array.finish()?;
    Ok(())
}

/// Parsing (and output) threads: one per core, at most [`MAX_WORKERS`].
fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, MAX_WORKERS)
}

/// Runs `work` on `workers` threads, each with its own bounded channels ([`IN_FLIGHT`]) of
/// jobs in and results out; `feed` (on a thread of its own) deals the jobs to them in turn,
/// one sender per thread, and hangs up after the last. This thread hands the results to
/// `consume` in the order dealt, until a thread without a job in turn (the end), `consume`
/// returning `false` (stop) or an error, which is returned. When this thread stops early its
/// channels hang up, and `feed` and `work` see that on their next send.
fn in_order<J: Send, D: Send, E>(
    workers: usize,
    feed: impl FnOnce(&[SyncSender<J>]) + Send,
    work: impl Fn(&Receiver<J>, &SyncSender<D>) + Sync,
    mut consume: impl FnMut(D) -> Result<bool, E>,
) -> Result<(), E> {
    std::thread::scope(|scope| {
        let work = &work;
        let mut jobs = Vec::with_capacity(workers);
        let mut results = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<J>(IN_FLIGHT);
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<D>(IN_FLIGHT);
            scope.spawn(move || work(&job_rx, &done_tx));
            jobs.push(job_tx);
            results.push(done_rx);
        }
        scope.spawn(move || feed(&jobs));
        for turn in (0..workers).cycle() {
            // A thread hangs up after its last job: the jobs are dealt in turn, so the first
            // hang-up in turn is the end.
            let Ok(done) = results[turn].recv() else {
                return Ok(());
            };
            if !consume(done)? {
                return Ok(());
            }
        }
        Ok(())
    })
}

/// An output thread: builds and serializes each chunk's Locations in order.
fn serialize_chunks(jobs: &Receiver<Vec<PendingLocation>>, done: &SyncSender<Serialized>) {
    for chunk in jobs {
        let mut serialized = Serialized {
            bytes: Vec::with_capacity(chunk.len() * 4096),
            ends: Vec::with_capacity(chunk.len()),
            error: None,
        };
        for pending in chunk {
            let written = pending
                .build()
                .map_err(TranslateError::from)
                .and_then(|location| {
                    push_element(&mut serialized.bytes, &location).map_err(TranslateError::from)
                });
            if let Err(e) = written {
                serialized.error = Some(e);
                break;
            }
            serialized.ends.push(serialized.bytes.len());
        }
        let stop = serialized.error.is_some();
        if done.send(serialized).is_err() || stop {
            return;
        }
    }
}

/// Records per chunk: the scanner hands the parsing threads this many array elements at a time,
/// and the grouping thread takes their mapped records a chunk at a time.
pub const BATCH: usize = 256;

/// Chunks in flight per parsing thread, in each direction (bounds the pipeline's memory).
pub const IN_FLIGHT: usize = 4;

/// At most this many parsing threads, whatever the machine has: the grouping thread (notes,
/// output) is the bottleneck past that.
pub const MAX_WORKERS: usize = 4;

/// Nesting (within one element) past which the scanner hands over to the sequential parse:
/// `serde_json` limits nesting to 128 counted from the top of the document, which an element
/// parsed on its own would not see.
const MAX_DEPTH: usize = 100;

/// Array elements (byte ranges of `input`) for one parsing thread.
struct Chunk {
    /// The index of the first element in the array.
    first: usize,
    ranges: Vec<(usize, usize)>,
    /// The scanner stopped after these elements on something it does not take apart (not
    /// JSON, nesting too deep): the rest is left to the sequential parse.
    last: bool,
}

/// A chunk's records, mapped; `complete` when every element of the chunk was parsed, valid and
/// mapped and the scanner went on after it.
struct Done {
    records: Vec<PreparedRecord>,
    complete: bool,
}

/// Parses and maps the records of a top-level array on parsing threads and hands them, in
/// input order and a chunk at a time, to `accept` on this one. An error of `accept` stops the
/// parsing and is returned; else the parse's error (invalid input, a mapping bug), after
/// `accept` has seen every record before it.
///
/// A scanner thread splits the array into element byte ranges (it follows strings, escapes and
/// nesting; it checks the commas, brackets and whitespace between elements, the elements
/// themselves are left to `serde_json`) and deals chunks of [`BATCH`] elements round-robin to
/// the parsing threads, one per core up to [`MAX_WORKERS`]; each parses, validates and maps its
/// chunk's elements in order; this thread takes the results round-robin, that is in input
/// order.
///
/// Errors and odd input are left to the sequential parse: when an element does not parse, is
/// invalid or fails to map, or the scanner stops (not JSON between elements, deep nesting),
/// this thread takes the records before it and then reads the input with
/// [`for_each_element`] from that element on. So output, notes and errors are those of the
/// one-thread form by construction (and tested in `tests/translate_pipeline.rs`): the
/// parallel path only ever delivers elements that parsed on their own, which a streaming parse
/// of the whole array reads the same way.
fn pipeline(
    input: &[u8],
    mapper: RecordMapper<'_>,
    mut accept: impl FnMut(Vec<PreparedRecord>) -> std::io::Result<()>,
) -> Result<(), TranslateError> {
    let mut next = 0;
    let mut resume_at = None;
    in_order(
        workers(),
        |jobs| scan(input, jobs),
        |jobs, done| parse_chunks(input, mapper, jobs, done),
        |done: Done| -> std::io::Result<bool> {
            next += done.records.len();
            accept(done.records)?;
            if !done.complete {
                resume_at = Some(next);
            }
            Ok(done.complete)
        },
    )?;
    let Some(from) = resume_at else {
        return Ok(());
    };
    for_each_element::<PullEvseDataRecord, _>(input, |i, record| {
        if i >= from {
            accept(vec![mapper.map(i, &record)?])?;
        }
        Ok(())
    })
}

/// The parsing thread: parses, validates and maps each chunk's elements in order; stops a
/// chunk at its first element that fails (the sequential parse reports it).
///
/// Each element's bytes are checked as UTF-8 once and then parsed as `&str`: `serde_json`
/// reading bytes checks every string on its own, which cost more than the whole element check
/// (issue 6). An element that is not UTF-8 fails here and is reported by the sequential parse
/// exactly as before.
fn parse_chunks(
    input: &[u8],
    mapper: RecordMapper<'_>,
    jobs: &Receiver<Chunk>,
    done: &SyncSender<Done>,
) {
    for chunk in jobs {
        let mut records = Vec::with_capacity(chunk.ranges.len());
        let mut complete = !chunk.last;
        for &(start, end) in &chunk.ranges {
            let index = chunk.first + records.len();
            let parsed = input
                .get(start..end)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(|text| serde_json::from_str::<PullEvseDataRecord>(text).ok())
                .filter(|record| Validator::run(record).is_empty())
                .and_then(|record| mapper.map(index, &record).ok());
            if let Some(prepared) = parsed {
                records.push(prepared);
            } else {
                complete = false;
                break;
            }
        }
        // The grouping thread hangs up only when it stopped (an error of its own, or it hands
        // over to the sequential parse).
        if done.send(Done { records, complete }).is_err() {
            return;
        }
    }
}

/// The scanner thread: deals the array's elements in chunks round-robin to the parsing threads;
/// the last chunk is marked when the scanner stopped short of the end.
fn scan(input: &[u8], jobs: &[SyncSender<Chunk>]) {
    let mut elements = Elements::new(input);
    let mut first = 0;
    for turn in (0..jobs.len()).cycle() {
        let mut ranges = Vec::with_capacity(BATCH);
        let mut last = false;
        while ranges.len() < BATCH {
            match elements.next() {
                Some(Ok(range)) => ranges.push(range),
                Some(Err(Stopped)) => {
                    last = true;
                    break;
                }
                None => break,
            }
        }
        if ranges.is_empty() && !last {
            return;
        }
        let n = ranges.len();
        let end = last || n < BATCH;
        // A hang-up: the grouping thread stopped.
        if jobs[turn]
            .send(Chunk {
                first,
                ranges,
                last,
            })
            .is_err()
            || end
        {
            return;
        }
        first += n;
    }
}

/// The scanner met something it does not take apart (see [`Elements`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stopped;

/// The byte ranges of the elements of a top-level JSON array, in order: `[`, elements separated
/// by `,`, `]`, JSON whitespace around each and nothing after. An element is a string, an
/// object or array (strings, escapes and nesting followed; brackets not matched by kind), or a
/// scalar token (up to the next `,`, `]` or whitespace). Anything else ends the iteration with
/// [`Stopped`], as does nesting deeper than [`MAX_DEPTH`].
struct Elements<'a> {
    b: &'a [u8],
    at: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Next,
    Done,
}

impl<'a> Elements<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self {
            b,
            at: 0,
            state: State::Start,
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.b.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    /// The byte at the cursor (after whitespace), consumed when it is `want`.
    fn eat(&mut self, want: u8) -> bool {
        self.skip_whitespace();
        let found = self.b.get(self.at) == Some(&want);
        if found {
            self.at += 1;
        }
        found
    }

    /// The end of the string whose opening quote is at `at` ([`quote_or_backslash`]: most of
    /// a record's bytes are inside strings, and the byte-wise search was the scanner's main
    /// cost).
    fn string_end(&self, mut at: usize) -> Option<usize> {
        at += 1;
        loop {
            let rest = self.b.get(at..)?;
            let k = quote_or_backslash(rest)?;
            at += k;
            if self.b.get(at) == Some(&b'"') {
                return Some(at + 1);
            }
            at += 2;
        }
    }

    /// The end of the element that starts at the cursor.
    fn element_end(&self) -> Option<usize> {
        let start = self.at;
        match self.b.get(start)? {
            b'"' => self.string_end(start),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut at = start;
                loop {
                    match self.b.get(at)? {
                        b'"' => {
                            at = self.string_end(at)?;
                            continue;
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            if depth > MAX_DEPTH {
                                return None;
                            }
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(at + 1);
                            }
                        }
                        _ => {}
                    }
                    at += 1;
                }
            }
            _ => {
                let len = self.b[start..]
                    .iter()
                    .position(|c| matches!(c, b',' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                    .unwrap_or(self.b.len() - start);
                (len > 0).then_some(start + len)
            }
        }
    }

    fn step(&mut self) -> Result<Option<(usize, usize)>, Stopped> {
        match self.state {
            State::Done => return Ok(None),
            State::Start => {
                if !self.eat(b'[') {
                    return Err(Stopped);
                }
                if self.eat(b']') {
                    return self.end();
                }
            }
            State::Next => {
                if self.eat(b']') {
                    return self.end();
                }
                if !self.eat(b',') {
                    return Err(Stopped);
                }
            }
        }
        self.state = State::Next;
        self.skip_whitespace();
        let start = self.at;
        let end = self.element_end().ok_or(Stopped)?;
        self.at = end;
        Ok(Some((start, end)))
    }

    /// After the closing `]`: only whitespace may follow.
    fn end(&mut self) -> Result<Option<(usize, usize)>, Stopped> {
        self.skip_whitespace();
        self.state = State::Done;
        if self.at == self.b.len() {
            Ok(None)
        } else {
            Err(Stopped)
        }
    }
}

/// The index of the first `"` or `\\` in `b`, eight bytes at a time: `x - 0x01… & !x &
/// 0x80…` flags the zero bytes of `x`, and its lowest flag is exact (no borrow reaches the
/// bytes below the first zero), so `x ^ 0x22…` and `x ^ 0x5c…` locate the first quote and
/// backslash. The strings of a record are short, and `memchr2`'s vector setup cost more than
/// this loop (issue 6).
fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = b.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let hits = zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\')));
        if hits != 0 {
            return Some(base + hits.trailing_zeros() as usize / 8);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| base + p)
}

impl Iterator for Elements<'_> {
    type Item = Result<(usize, usize), Stopped>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.step().transpose();
        if matches!(item, Some(Err(_))) {
            self.state = State::Done;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str) -> Vec<Result<&str, Stopped>> {
        Elements::new(input.as_bytes())
            .map(|r| r.map(|(a, b)| &input[a..b]))
            .collect()
    }

    #[test]
    fn elements_follow_strings_escapes_and_nesting() {
        let input = " [ {\"a\":\"]}\\\",[\"} ,\r\n[1,[2]],\t\"x\\\\\",-1.5e3 , null]\n";
        assert_eq!(
            split(input),
            [
                Ok("{\"a\":\"]}\\\",[\"}"),
                Ok("[1,[2]]"),
                Ok("\"x\\\\\""),
                Ok("-1.5e3"),
                Ok("null")
            ]
        );
        assert!(split("[]").is_empty() && split(" [ \n ] ").is_empty());
    }

    #[test]
    fn quote_or_backslash_finds_the_first() {
        for len in 0..=20 {
            let mut text = vec![b'a'; len];
            assert_eq!(quote_or_backslash(&text), None);
            for first in 0..len {
                for special in [b'"', b'\\'] {
                    text[first] = special;
                    for later in first + 1..len {
                        let saved = text[later];
                        text[later] = b'"';
                        assert_eq!(quote_or_backslash(&text), Some(first), "{first} {later}");
                        text[later] = saved;
                    }
                    // Bytes that look alike to a borrow: 0x21, 0x23, 0x5b, 0x5d, 0x00, 0xff.
                    for (i, c) in text.iter_mut().enumerate().take(first) {
                        *c = [0x21, 0x23, 0x5b, 0x5d, 0x00, 0xff][i % 6];
                    }
                    assert_eq!(quote_or_backslash(&text), Some(first));
                    text.fill(b'a');
                }
            }
        }
    }

    #[test]
    fn anything_else_stops_the_scanner() {
        for input in [
            "{}",
            "[1,]",
            "[1 2]",
            "[1] x",
            "[{\"a\":1}",
            "[\"abc",
            "[,1]",
            "\u{c}[1]",
        ] {
            assert_eq!(split(input).last(), Some(&Err(Stopped)), "{input:?}");
        }
        assert_eq!(split("[1,x]x"), [Ok("1"), Ok("x"), Err(Stopped)]);
        let deep = format!(
            "[{}{}]",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(split(&deep), [Err(Stopped)]);
        let ok = format!("[{}{}]", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(split(&ok).len(), 1);
        assert!(split(&ok)[0].is_ok());
    }
}
