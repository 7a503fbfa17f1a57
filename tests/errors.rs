//! Bad input stops the run with the place it happened, the same place
//! under every strategy, and leaves no output.

use crate::util::Case;

const SCHEMA: &str = r#"{"columns":[{"name":"id","type":"int8","nullable":false},{"name":"s","type":"string"}]}"#;

#[test]
fn a_value_that_does_not_parse() {
    let err = Case::new("id,s\n1,a\n2,\"b\nc\"\n300,d\n", SCHEMA).fails();
    assert_eq!(err, "case:line 5, byte 17, record 2, column \"id\": value does not parse as int8: \"300\"");
}

#[test]
fn a_row_with_too_many_fields() {
    let err = Case::new("id,s\n1,a\n2,b,c\n", SCHEMA).fails();
    assert_eq!(err, "case:line 3, byte 9, record 1: record has 3 fields, expected 2: \"2,b,c\"");
}

#[test]
fn a_null_in_a_column_that_is_not_nullable() {
    let err = Case::new("id,s\n1,a\n,b\n", SCHEMA).fails();
    assert_eq!(err, "case:line 3, byte 9, record 1, column \"id\": null value in a column that is not nullable: \"\"");
}

#[test]
fn text_after_a_closing_quote() {
    let err = Case::new("id,s\n1,\"a\"b\n", SCHEMA).fails();
    assert!(err.starts_with("case:line 2, byte 5, record 0: malformed quoting"), "{err}");
}

#[test]
fn invalid_utf8_in_a_string_column() {
    let err = Case::new(b"id,s\n1,ok\n2,\xff\xfe\n".to_vec(), SCHEMA).fails();
    assert_eq!(err, "case:line 3, byte 10, record 1, column \"s\": invalid UTF-8: \"\u{fffd}\u{fffd}\"");
}

#[test]
fn a_quote_that_never_closes() {
    let err = Case::new("id,s\n1,a\n2,\"open\n3,b\n", SCHEMA).fails();
    assert!(err.starts_with("case:line 3, byte 9, record 1: quoted field is not closed"), "{err}");
}

#[test]
fn crlf_and_blank_lines_do_not_shift_the_location() {
    // Regression: csv-core skips the LF of a CRLF (and blank lines) at the
    // start of the next record; the location must start after them.
    let err = Case::new("id,s\r\n1,a\r\n\r\n2,b,c\r\n", SCHEMA).fails();
    assert_eq!(err, "case:line 4, byte 13, record 1: record has 3 fields, expected 2: \"2,b,c\"");
}

#[test]
fn a_stray_quote_in_a_file_larger_than_a_chunk() {
    // Regression: the splitter reported a stray quote that kept a record
    // from ending as an unclosed quote; the decoder calls it malformed.
    let mut csv = String::from("id,s\n1,12\" screen\n");
    for i in 0..50 {
        csv.push_str(&format!("{},x\n", i % 100));
    }
    let err = Case::new(csv, SCHEMA).fails();
    assert!(err.starts_with("case:line 2, byte 5, record 0: malformed quoting"), "{err}");
}

#[test]
fn a_header_larger_than_the_chunk_is_too_large_whatever_follows() {
    // Regression (fuzz): the quote check on a record that does not fit
    // looked past its end and blamed it for the next record's stray quote.
    let err = Case::new("id,s\n1,a\"b\n", SCHEMA).fails();
    assert!(err.starts_with("case:line 2, byte 5, record 0: malformed quoting"), "{err}");
}

#[test]
fn a_run_past_its_deadline_stops_and_leaves_no_output() {
    use sluicegate::spec::PipelineFile;
    use sluicegate::{Budget, ErrorKind, Pipeline, Source};
    let dir = tempfile::tempdir().unwrap();
    let csv = "id,country\n1,FR\n2,DE\n".to_string();
    for (toml, out) in [("", "out.parquet"), ("[output]\npartition_by = [\"country\"]\n", "out")] {
        let file = PipelineFile::parse(toml, "t", std::path::Path::new("")).unwrap();
        let plan = Budget::new(128).partitioned(file.spec.is_partitioned()).plan().unwrap();
        let out = dir.path().join(out);
        let err = Pipeline::new(file.spec.clone(), plan)
            .with_deadline(std::time::Instant::now())
            .run(Source::from_bytes("late.csv", csv.clone().into_bytes()), &out)
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Deadline);
        assert_eq!(err.kind().code(), "deadline");
        assert_eq!(
            err.to_string(),
            "stopped before the deadline: too little time was left to finish; nothing was written, retryable with \
             more time"
        );
        assert!(!out.is_file(), "{}", out.display());
        let parquet = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "parquet") || e.path().join("_manifest.json").exists());
        assert!(!parquet, "no file left behind");
    }
    // A deadline ahead changes nothing.
    let file = PipelineFile::parse("", "t", std::path::Path::new("")).unwrap();
    let plan = Budget::new(128).plan().unwrap();
    let out = dir.path().join("in-time.parquet");
    let report = Pipeline::new(file.spec, plan)
        .with_deadline(std::time::Instant::now() + std::time::Duration::from_secs(600))
        .run(Source::from_bytes("t.csv", csv.into_bytes()), &out)
        .unwrap();
    assert_eq!(report.rows_written, 2);
    assert!(out.is_file());
}

/// A CSV that comes in two parts: `first` at once; then, once the pipeline
/// has written some of it, the rest only after the deadline has passed.
struct LateStream {
    first: std::io::Cursor<Vec<u8>>,
    rest: std::io::Cursor<Vec<u8>>,
    written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    deadline: std::time::Instant,
}

impl std::io::Read for LateStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::Read::read(&mut self.first, buf)?;
        if n > 0 {
            return Ok(n);
        }
        while self.written.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if let Some(wait) = self.deadline.checked_duration_since(std::time::Instant::now()) {
            std::thread::sleep(wait + std::time::Duration::from_millis(20));
        }
        std::io::Read::read(&mut self.rest, buf)
    }
}

#[test]
fn a_deadline_passing_mid_conversion_stops_it_and_leaves_no_output() {
    use sluicegate::spec::PipelineFile;
    use sluicegate::{Budget, ErrorKind, Pipeline, Source};
    let dir = tempfile::tempdir().unwrap();
    let file = PipelineFile::parse("", "t", std::path::Path::new("")).unwrap();
    let plan = Budget::new(128).plan().unwrap();
    let rows = |from: usize, bytes: usize| {
        let mut text = String::new();
        let mut i = from;
        while text.len() < bytes {
            text.push_str(&format!("{i},row number {i} of a long input\n"));
            i += 1;
        }
        text.into_bytes()
    };
    // Several chunks' worth before the wait, so that some are written.
    let mut first = b"id,text\n".to_vec();
    first.extend(rows(0, 4 * plan.chunk_bytes));
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
    let stream = LateStream {
        first: std::io::Cursor::new(first),
        rest: std::io::Cursor::new(rows(1 << 30, 2 * plan.chunk_bytes)),
        written: std::sync::Arc::clone(&written),
        deadline,
    };
    let out = dir.path().join("out.parquet");
    let err = Pipeline::new(file.spec, plan)
        .with_progress(std::sync::Arc::clone(&written))
        .with_deadline(deadline)
        .run(Source::from_reader("late.csv", stream).unwrap(), &out)
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Deadline);
    assert!(written.load(std::sync::atomic::Ordering::Relaxed) > 0, "the run had written chunks when it stopped");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "nothing left behind, not even a temporary file: {left:?}");
}
