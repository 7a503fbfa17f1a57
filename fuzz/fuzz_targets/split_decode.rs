//! Splitting must not change what is decoded.
//!
//! The same CSV goes through split + decode twice: once as a single chunk
//! (the whole input) and once cut at a tiny chunk size. The properties, beyond
//! "never panics":
//!
//! - when both succeed they produce the same rows;
//! - when the whole input fails, the chunked run fails too, with the same
//!   error kind at the same place, unless the chunked run stopped earlier
//!   because a record exceeded its tiny chunk size (`RecordTooLarge`);
//! - a chunk size at least as large as the longest record never gives
//!   `RecordTooLarge`;
//! - every data error has a location inside the input.
//!
//! The first two bytes of the input pick the dialect, schema and chunk size
//! (see [`Case::parse`]); the rest is the CSV.

#![no_main]

use arrow_array::RecordBatch;
use libfuzzer_sys::fuzz_target;
use sluicegate::decode::{CsvDecoder, Scratch};
use sluicegate::spec::{parse_type, Column, CsvOptions, Schema};
use sluicegate::split::{Chunker, CsvSplitter};
use sluicegate::{Error, ErrorKind, Location, Source};

/// The UTF-8 byte order mark, which the chunker skips before the first record.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Column names when every column is a string and there is no header.
const STRING_COLUMNS: [&str; 4] = ["a", "b", "c", "d"];

fuzz_target!(|data: &[u8]| {
    if let Some((case, csv)) = Case::parse(data) {
        case.check(csv);
    }
});

/// How one input is read.
#[derive(Debug)]
struct Case {
    options: CsvOptions,
    schema: SchemaChoice,
    /// The chunked run's chunk size in bytes.
    chunk_bytes: usize,
    /// Whether `chunk_bytes` includes the longest record, so that no record
    /// can be too large for it.
    fits_every_record: bool,
}

#[derive(Debug, Clone, Copy)]
enum SchemaChoice {
    /// One nullable column of each kind of parser: `i,s,f,t,d,b`.
    Mixed,
    /// Every column a nullable string: named by the header, or this many
    /// columns named `a, b, ...` when there is no header.
    Strings(usize),
}

impl Case {
    /// Reads the options from the first two bytes:
    ///
    /// ```text
    /// byte 0  bit 0    the first record is a header
    ///         bit 1    delimiter ';' (else ',')
    ///         bit 2    every column a string (else the mixed schema)
    ///         bit 3    '\' escapes inside quotes (else only doubled quotes)
    ///         bit 4    "NA" is null as well as the empty field
    ///         bits 5-6 string columns without a header, 1 to 4
    ///         bit 7    the chunk size is the tiny size alone (else plus the longest record)
    /// byte 1           the tiny size, 1 to 64 bytes
    /// ```
    fn parse(data: &[u8]) -> Option<(Case, &[u8])> {
        let (&[flags, size], csv) = data.split_first_chunk::<2>()?;
        let bit = |n: u8| flags & (1 << n) != 0;
        let mut options = CsvOptions { has_header: bit(0), ..CsvOptions::default() };
        if bit(1) {
            options.delimiter = b';';
        }
        if bit(3) {
            options.escape = Some(b'\\');
        }
        if bit(4) {
            options.null_markers.push("NA".to_string());
        }
        let schema =
            if bit(2) { SchemaChoice::Strings(1 + ((flags >> 5) & 0b11) as usize) } else { SchemaChoice::Mixed };
        let tiny = 1 + (size % 64) as usize;
        let fits_every_record = !bit(7);
        let chunk_bytes = if fits_every_record { tiny + longest_record(csv, &options) } else { tiny };
        Some((Case { options, schema, chunk_bytes, fits_every_record }, csv))
    }

    fn check(&self, csv: &[u8]) {
        // Larger than the input: the splitter cuts the rest of the input as
        // one chunk without searching for a boundary.
        let whole = self.convert(csv, csv.len() + 1);
        let chunked = self.convert(csv, self.chunk_bytes);
        for result in [&whole, &chunked] {
            if let Err(e) = result {
                assert_located(e, csv);
            }
        }
        match (whole, chunked) {
            (Ok(w), Ok(c)) => assert_eq!(w, c, "the rows differ; {self:?}"),
            (_, Err(c)) if matches!(c.kind(), ErrorKind::RecordTooLarge { .. }) => {
                assert!(!self.fits_every_record, "a record fits the chunk size, yet: {c}; {self:?}");
            }
            (Ok(_), Err(c)) => panic!("only the chunked run failed: {c}; {self:?}"),
            (Err(w), Ok(_)) => panic!("only the whole input failed: {w}; {self:?}"),
            (Err(w), Err(c)) => {
                assert_eq!(w.kind(), c.kind(), "whole: {w}; chunked: {c}; {self:?}");
                assert_eq!(place(&w), place(&c), "whole: {w}; chunked: {c}; {self:?}");
            }
        }
    }

    /// Splits at `chunk_bytes` and decodes each chunk in order, as the
    /// pipeline does on one thread: the rows of every chunk, concatenated,
    /// or the first error in input order.
    fn convert(&self, csv: &[u8], chunk_bytes: usize) -> Result<RecordBatch, Error> {
        let options = &self.options;
        let mut chunker =
            Chunker::new(Source::from_bytes("fuzz", csv.to_vec()), CsvSplitter::new(options, chunk_bytes));
        let header = match options.has_header {
            true => chunker.header()?.map(|h| CsvDecoder::header_names(options, &h)).transpose()?,
            false => None,
        };
        let schema = match (self.schema, &header) {
            (SchemaChoice::Mixed, _) => mixed_schema(),
            (SchemaChoice::Strings(_), Some(names)) => Schema::all_strings(names)?,
            // Also an empty input that should have had a header: no records follow.
            (SchemaChoice::Strings(n), None) => Schema::all_strings(&STRING_COLUMNS[..n])?,
        };
        let decoder = CsvDecoder::new(&schema, options, header.as_deref())?;
        let mut scratch = Scratch::default();
        let mut batches = Vec::new();
        // A chunk's errors count records from the chunk's start; the pipeline
        // adds the rows before it, and so does this.
        let mut rows = 0u64;
        let absolute = |mut e: Error, rows: u64| {
            if let Some(loc) = e.location_mut() {
                loc.record += rows;
            }
            e
        };
        while let Some(chunk) = chunker.next().map_err(|e| absolute(e, rows))? {
            let batch = decoder.decode(&chunk, &mut scratch).map_err(|e| absolute(e, rows))?.batch;
            rows += batch.num_rows() as u64;
            batches.push(batch);
        }
        Ok(arrow_select::concat::concat_batches(decoder.arrow_schema(), &batches).expect("batches of one schema"))
    }
}

/// One nullable column per value parser, named by one letter so that a
/// header the fuzzer writes can name them all.
fn mixed_schema() -> Schema {
    let columns = [
        ("i", "int64"),
        ("s", "string"),
        ("f", "float64"),
        ("t", "timestamp[ms, tz=UTC]"),
        ("d", "decimal(10,2)"),
        ("b", "bool"),
    ];
    Schema::new(columns.iter().map(|(name, ty)| Column::new(*name, parse_type(ty).unwrap(), true)).collect())
        .expect("a valid schema")
}

/// The longest record as the splitter delimits records, which is as
/// csv-core reads them: an LF outside a quoted field ends one; inside one,
/// the escape character (if any) hides the next byte. With a chunk at least
/// this long, every cut succeeds.
fn longest_record(csv: &[u8], options: &CsvOptions) -> usize {
    // Records as csv-core reads them: a quote opens a quoted field only at
    // the field's start; elsewhere it is text, and text after a closing
    // quote continues the field.
    #[derive(PartialEq)]
    enum S {
        FieldStart,
        Unquoted,
        Quoted,
        AfterQuote,
    }
    let csv = csv.strip_prefix(BOM).unwrap_or(csv);
    let (mut longest, mut start, mut s, mut i) = (0, 0, S::FieldStart, 0);
    while i < csv.len() {
        let b = csv[i];
        s = match s {
            S::Quoted if Some(b) == options.escape && b != options.quote => {
                i += 1;
                S::Quoted
            }
            S::Quoted if b == options.quote => S::AfterQuote,
            S::Quoted => S::Quoted,
            S::FieldStart | S::AfterQuote if b == options.quote => S::Quoted,
            _ if b == options.delimiter || b == b'\r' => S::FieldStart,
            _ if b == b'\n' => {
                longest = longest.max(i + 1 - start);
                start = i + 1;
                S::FieldStart
            }
            _ => S::Unquoted,
        };
        i += 1;
    }
    longest.max(csv.len() - start)
}

/// Every error about the data says where, inside the input; only a wrong
/// spec (here: a header that does not match the schema) has no place.
fn assert_located(e: &Error, csv: &[u8]) {
    match e.kind() {
        ErrorKind::Spec(_) => {}
        ErrorKind::Io(_) | ErrorKind::Encode(_) => panic!("splitting and decoding bytes in memory failed: {e}"),
        _ => {
            let loc = e.location().unwrap_or_else(|| panic!("a data error without a location: {e}"));
            assert!(loc.byte as usize <= csv.len() && loc.line >= 1, "a location outside the input: {e}");
        }
    }
}

/// An error's place without its value: the chunker reports a quote left
/// open with no value, the decoder with the record's text.
fn place(e: &Error) -> Option<Location> {
    e.location().map(|loc| Location { value: None, ..loc.clone() })
}
