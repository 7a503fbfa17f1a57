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
