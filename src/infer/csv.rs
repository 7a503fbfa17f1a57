//! CSV: the dialect (delimiter, header, line ending) and each column's type
//! from the sampled records, read with csv-core as `convert` reads them.

use std::ops::Range;

use bytes::Bytes;
use csv_core::{ReadRecordResult, ReaderBuilder, Terminator};

use super::sample::{Sample, Window};
use super::scalar::ScalarStats;
use super::LineEnding;
use crate::error::{Error, Result};
use crate::spec::{Column, CsvOptions, Schema};
use crate::split::{check_quotes, Chunk};

/// The delimiters tried, in order of preference when they tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Records read to choose the delimiter.
const DIALECT_RECORDS: usize = 200;
/// Bytes read to choose the delimiter: 1 MiB.
const DIALECT_BYTES: usize = 1 << 20;
/// Line breaks tried as the start of a window in the middle of a file.
const ALIGN_TRIES: usize = 64;
/// Records after a tried start that must all look right (field count, quoting).
const ALIGN_RECORDS: usize = 8;

/// What the caller fixed; `None` is detected.
pub(crate) struct Hints {
    pub delimiter: Option<u8>,
    pub quote: u8,
    pub has_header: Option<bool>,
    pub null_markers: Vec<String>,
}

/// What the CSV sample says.
pub(crate) struct Inferred {
    pub schema: Schema,
    pub options: CsvOptions,
    pub line_ending: LineEnding,
    pub rows: u64,
    /// The sampled records, cut into record-aligned chunks (the header
    /// excluded), to check the schema against with the real decoder.
    pub chunks: Vec<Chunk>,
    pub header: Option<Vec<String>>,
}

/// Runs `on_record(fields, bytes)` over the whole records of `data` until
/// it returns false. Without `eof` a last record that no line break ends is
/// left out: the window may have cut it.
fn each_record(data: &[u8], o: &CsvOptions, eof: bool, mut on_record: impl FnMut(&[&[u8]], Range<usize>) -> bool) {
    let mut rdr = ReaderBuilder::new()
        .delimiter(o.delimiter)
        .quote(o.quote)
        .escape(o.escape)
        .double_quote(true)
        .terminator(Terminator::CRLF)
        .build();
    let (mut out, mut ends) = (vec![0u8; 4096], vec![0usize; 64]);
    let (mut pos, mut out_len, mut nends, mut start) = (0, 0, 0, 0);
    loop {
        // As in the decoder: a lone first byte keeps csv-core from dropping a BOM.
        let input = if pos == 0 { &data[..data.len().min(1)] } else { &data[pos..] };
        if input.is_empty() && !eof {
            return;
        }
        let (res, nin, nout, nend) = rdr.read_record(input, &mut out[out_len..], &mut ends[nends..]);
        pos += nin;
        out_len += nout;
        nends += nend;
        match res {
            ReadRecordResult::InputEmpty => {}
            ReadRecordResult::OutputFull => out.resize(out.len() * 2, 0),
            ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            ReadRecordResult::Record => {
                while start < pos && matches!(data[start], b'\r' | b'\n') {
                    start += 1;
                }
                let mut from = 0;
                let fields: Vec<&[u8]> = ends[..nends]
                    .iter()
                    .map(|&end| {
                        let f = &out[from..end];
                        from = end;
                        f
                    })
                    .collect();
                if !on_record(&fields, start..pos) {
                    return;
                }
                out_len = 0;
                nends = 0;
                start = pos;
            }
            ReadRecordResult::End => return,
        }
    }
}

/// The delimiter whose records have the same number of fields, the most
/// fields, and failing that the steadiest count; `,` when nothing tells.
fn detect_delimiter(first: &Window, quote: u8) -> u8 {
    let data = &first.data[..first.data.len().min(DIALECT_BYTES)];
    let eof = first.at_end && data.len() == first.data.len();
    let mut best: Option<((bool, usize, usize), u8)> = None;
    for d in DELIMITERS {
        let o = CsvOptions { delimiter: d, quote, ..CsvOptions::default() };
        let mut counts = Vec::new();
        each_record(data, &o, eof, |f, _| {
            counts.push(f.len());
            counts.len() < DIALECT_RECORDS
        });
        let Some(modal) = mode(&counts) else { continue };
        let agreeing = counts.iter().filter(|&&c| c == modal).count();
        if modal < 2 {
            continue;
        }
        // Steady first, then more fields, then more records agreeing (per mille).
        let key = (agreeing == counts.len(), modal, agreeing * 1000 / counts.len());
        if best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, d));
        }
    }
    best.map_or(b',', |(_, d)| d)
}

fn mode(counts: &[usize]) -> Option<usize> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let mut best: Option<(usize, usize)> = None;
    for run in sorted.chunk_by(|a, b| a == b) {
        if best.is_none_or(|(_, n)| run.len() > n) {
            best = Some((run[0], run.len()));
        }
    }
    best.map(|(v, _)| v)
}

/// How records end, from the counts of records that end with a line feed
/// and of those among them that end with CRLF (line breaks inside quoted
/// fields are data, not line ends).
fn line_ending(lf: usize, crlf: usize) -> LineEnding {
    match (lf, crlf) {
        (0, _) => LineEnding::None,
        (_, 0) => LineEnding::Lf,
        (l, c) if l == c => LineEnding::Crlf,
        _ => LineEnding::Mixed,
    }
}

/// One column's values: the type rules' view, and empty fields apart (in a
/// string column they are null only when the empty string is a null marker).
#[derive(Default, Clone)]
struct ColumnStats {
    scalar: ScalarStats,
    empties: u64,
}

impl ColumnStats {
    fn add(&mut self, field: &[u8], markers: &[String]) {
        if field.is_empty() {
            self.empties += 1;
            self.scalar.add_null();
        } else if markers.iter().any(|m| m.as_bytes() == field) {
            self.scalar.add_null();
        } else {
            self.scalar.add_text(field);
        }
    }
}

fn add_record(stats: &mut [ColumnStats], fields: &[&[u8]], markers: &[String]) {
    for (s, f) in stats.iter_mut().zip(fields) {
        s.add(f, markers);
    }
}

/// The start of the first record in a window that starts anywhere: just
/// after a line break from which the next records all have `ncols` fields
/// and sound quoting (a line break inside a quoted field fails that, as a
/// rule, since the quotes then pair up wrongly).
fn align(w: &Window, o: &CsvOptions, ncols: usize) -> Option<usize> {
    let data = &w.data[..];
    let mut from = 0;
    for _ in 0..ALIGN_TRIES {
        let start = from + memchr::memchr(b'\n', &data[from..])? + 1;
        let rest = &data[start..];
        let (mut good, mut bad) = (0, false);
        each_record(rest, o, w.at_end, |f, r| {
            bad = f.len() != ncols || check_quotes(&rest[r], o).is_err();
            good += 1;
            !bad && good < ALIGN_RECORDS
        });
        if !bad && good > 0 {
            return Some(start);
        }
        from = start;
    }
    None
}

pub(crate) fn infer(sample: &Sample, hints: &Hints, sample_rows: usize) -> Result<Inferred> {
    let first = &sample.windows[0];
    let line_end = memchr::memchr(b'\n', &first.data).unwrap_or(first.data.len());
    if memchr::memchr_iter(b'\r', &first.data[..line_end]).any(|i| i + 1 < line_end) {
        return Err(Error::spec(
            "the input's first line holds a CR without an LF: CR-only line breaks are not supported; \
             convert them to LF or CRLF",
        ));
    }
    let delimiter = hints.delimiter.unwrap_or_else(|| detect_delimiter(first, hints.quote));
    let mut options = CsvOptions {
        delimiter,
        quote: hints.quote,
        escape: None,
        has_header: true,
        null_markers: hints.null_markers.clone(),
    };
    options.validate()?;
    let markers = &options.null_markers;
    let per_window = (sample_rows / sample.windows.len()).max(1);

    // The first window: its first record (a header or data), then the rest.
    let mut first_record: Option<(Vec<Vec<u8>>, usize)> = None;
    let mut stats: Vec<ColumnStats> = Vec::new();
    let mut rows = 0u64;
    let mut end = 0;
    let mut taken = 0;
    let (mut lf, mut crlf) = (0, 0);
    each_record(&first.data, &options, first.at_end, |f, r| {
        // csv-core ends a record at its first line-break byte: an LF, or the
        // CR of a CRLF (whose LF it skips later).
        match (first.data[..r.end].last(), first.data.get(r.end)) {
            (Some(b'\n'), _) => lf += 1,
            (Some(b'\r'), Some(b'\n')) => {
                lf += 1;
                crlf += 1;
            }
            _ => {}
        }
        match &first_record {
            None => {
                first_record = Some((f.iter().map(|v| v.to_vec()).collect(), r.end));
                stats = vec![ColumnStats::default(); f.len()];
            }
            Some(_) => {
                add_record(&mut stats, f, markers);
                taken += 1;
            }
        }
        end = r.end;
        taken < per_window
    });
    let Some((first_fields, first_end)) = first_record else {
        if first.at_end {
            return Err(Error::spec("the input has no records to infer a schema from"));
        }
        return Err(Error::spec(format!(
            "no record ends within the first {} bytes; raise --sample-bytes",
            first.data.len()
        )));
    };
    rows += taken as u64;
    let ncols = first_fields.len();
    let mut spans: Vec<(&Window, Range<usize>)> = vec![(first, first_end..end)];

    for w in &sample.windows[1..] {
        let Some(start) = align(w, &options, ncols) else { continue };
        let rest = &w.data[start..];
        let (mut end, mut taken) = (0, 0);
        each_record(rest, &options, w.at_end, |f, r| {
            if f.len() != ncols || check_quotes(&rest[r.clone()], &options).is_err() {
                return false;
            }
            add_record(&mut stats, f, markers);
            end = r.end;
            taken += 1;
            taken < per_window
        });
        rows += taken as u64;
        spans.push((w, start..start + end));
    }

    let has_header = hints.has_header.unwrap_or_else(|| looks_like_header(&first_fields, &stats));
    options.has_header = has_header;
    let header: Option<Vec<String>> = has_header
        .then(|| first_fields.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect::<Vec<String>>());
    if !has_header {
        let fields: Vec<&[u8]> = first_fields.iter().map(Vec::as_slice).collect();
        add_record(&mut stats, &fields, markers);
        rows += 1;
        spans[0].1.start = 0;
    }
    let names: Vec<String> = match &header {
        Some(h) => h.clone(),
        None => (1..=ncols).map(|i| format!("column_{i}")).collect(),
    };
    let empty_is_null = markers.iter().any(String::is_empty);
    let columns = names
        .into_iter()
        .zip(&stats)
        .map(|(name, s)| {
            let t = s.scalar.data_type();
            let empty_null = s.empties > 0 && (empty_is_null || t != arrow_schema::DataType::Utf8);
            let nulls = s.scalar.nulls - s.empties > 0 || empty_null;
            Column::new(name, t, nulls || !sample.whole_input)
        })
        .collect();
    let schema = Schema::new(columns)?;
    let line_ending = line_ending(lf, crlf);
    let chunks = spans
        .into_iter()
        .enumerate()
        .filter(|(_, (_, r))| !r.is_empty())
        .map(|(i, (w, r))| {
            // Lines are known from the input's start only; elsewhere they count from the window.
            let line = 1 + bytecount::count(&w.data[..r.start], b'\n') as u64;
            Chunk::new(i as u64, w.offset + r.start as u64, line, Bytes::copy_from_slice(&w.data[r]))
        })
        .collect();
    Ok(Inferred { schema, options, line_ending, rows, chunks, header })
}

/// A first record is a header when its fields are distinct non-empty names
/// and at least one of them does not parse as its column's type, inferred
/// from the records after it (`id` over integers). When every column is
/// text, nothing tells, and the common case wins: a header.
fn looks_like_header(first: &[Vec<u8>], stats: &[ColumnStats]) -> bool {
    let names_ok = first
        .iter()
        .enumerate()
        .all(|(i, f)| !f.is_empty() && std::str::from_utf8(f).is_ok() && !first[..i].contains(f));
    if !names_ok {
        return false;
    }
    let mut typed = false;
    for (f, s) in first.iter().zip(stats) {
        let t = s.scalar.data_type();
        if t == arrow_schema::DataType::Utf8 {
            continue;
        }
        typed = true;
        if !super::fits(&t, f) {
            return true;
        }
    }
    !typed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(text: &str) -> Window {
        Window { offset: 0, data: Bytes::copy_from_slice(text.as_bytes()), at_start: true, at_end: true }
    }

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter(&window("a;b;c\n1;2,5;3\n4;5;6\n"), b'"'), b';');
        assert_eq!(detect_delimiter(&window("a\tb\n\"x\ty\"\t2\n"), b'"'), b'\t');
        assert_eq!(detect_delimiter(&window("a|b|c\n1|2|3\n"), b'"'), b'|');
        assert_eq!(detect_delimiter(&window("a,b\n\"1;2;3\",4\n"), b'"'), b',');
        assert_eq!(detect_delimiter(&window("one\ntwo\n"), b'"'), b',');
    }

    #[test]
    fn line_endings() {
        let ending = |text: &str| {
            let s = super::super::sample::sample(crate::Source::from_bytes("t", text.as_bytes().to_vec()), 1 << 20);
            let hints = Hints { delimiter: None, quote: b'"', has_header: None, null_markers: vec![String::new()] };
            infer(&s.unwrap(), &hints, usize::MAX).unwrap().line_ending
        };
        assert_eq!(ending("a,b\r\n\"x\ny\",1\r\n"), LineEnding::Crlf, "a quoted LF is data");
        assert_eq!(ending("a\nb\n"), LineEnding::Lf);
        assert_eq!(ending("a\r\nb\n"), LineEnding::Mixed);
        assert_eq!(ending("a"), LineEnding::None);
    }

    #[test]
    fn a_window_in_the_middle_starts_after_a_quoted_line_break() {
        let o = CsvOptions::default();
        // Starts inside a quoted field: the line after "x" opens a new field
        // with a quote that closes what was a quoted line break.
        let w = window("x\nsecond line\",3\n4,\"a\",5\n6,b,7\n");
        assert_eq!(align(&w, &o, 3), Some(17));
    }

    #[test]
    fn header_or_not() {
        let stats = |values: &[&str]| {
            let mut s = ColumnStats::default();
            values.iter().for_each(|v| s.add(v.as_bytes(), &[String::new()]));
            s
        };
        let ints = stats(&["1", "2"]);
        let text = stats(&["x", "y"]);
        assert!(looks_like_header(&[b"id".to_vec(), b"name".to_vec()], &[ints.clone(), text.clone()]));
        assert!(!looks_like_header(&[b"7".to_vec(), b"name".to_vec()], &[ints.clone(), text.clone()]));
        assert!(looks_like_header(&[b"a".to_vec(), b"b".to_vec()], &[text.clone(), text.clone()]));
        assert!(!looks_like_header(&[b"a".to_vec(), b"a".to_vec()], &[text.clone(), text.clone()]), "twice");
        assert!(!looks_like_header(&[b"a".to_vec(), b"".to_vec()], &[text.clone(), text]), "empty");
    }
}
