//! Values survive the trip from CSV to Parquet, under every strategy.

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, Int8Type, TimestampMillisecondType, UInt64Type};
use arrow_array::Array;

use crate::util::Case;

#[test]
fn quoted_fields_with_commas_quotes_and_newlines() {
    let csv = "id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,\"crlf\r\nline\"\r\n5,plain\n";
    let batch =
        Case::new(csv, r#"{"columns":[{"name":"id","type":"int64"},{"name":"text","type":"string"}]}"#).converts();
    let text = batch.column(1).as_string::<i32>();
    let got: Vec<&str> = text.iter().map(|v| v.unwrap()).collect();
    assert_eq!(got, ["a, b", "say \"hi\"", "two\nlines", "crlf\r\nline", "plain"]);
}

#[test]
fn nulls_and_integer_edges() {
    let csv = "a,b,c\n-128,-9223372036854775808,18446744073709551615\n127,9223372036854775807,0\n,,\n";
    let batch = Case::new(
        csv,
        r#"{"columns":[{"name":"a","type":"int8"},{"name":"b","type":"int64"},{"name":"c","type":"uint64"}]}"#,
    )
    .converts();
    let a = batch.column(0).as_primitive::<Int8Type>();
    let b = batch.column(1).as_primitive::<Int64Type>();
    let c = batch.column(2).as_primitive::<UInt64Type>();
    assert_eq!((a.value(0), a.value(1)), (i8::MIN, i8::MAX));
    assert_eq!((b.value(0), b.value(1)), (i64::MIN, i64::MAX));
    assert_eq!((c.value(0), c.value(1)), (u64::MAX, 0));
    assert!(a.is_null(2) && b.is_null(2) && c.is_null(2));
}

#[test]
fn timestamps_with_offsets_and_decimals() {
    let csv = "ts,price\n2024-05-12T10:00:00.250Z,1234.50\n2024-05-12T10:00:00+05:30,-0.01\n\
               2024-05-12T10:00:00.5-08:00,7\n";
    let batch = Case::new(
        csv,
        r#"{"columns":[{"name":"ts","type":"timestamp[ms, tz=UTC]"},{"name":"price","type":"decimal(12,2)"}]}"#,
    )
    .converts();
    let ts = batch.column(0).as_primitive::<TimestampMillisecondType>();
    let base = 1_715_508_000_000; // 2024-05-12T10:00:00Z in ms
    assert_eq!(ts.value(0), base + 250);
    assert_eq!(ts.value(1), base - 5 * 3_600_000 - 30 * 60_000);
    assert_eq!(ts.value(2), base + 8 * 3_600_000 + 500);
    let price = batch.column(1).as_primitive::<Decimal128Type>();
    assert_eq!((price.value(0), price.value(1), price.value(2)), (123_450, -1, 700));
}

#[test]
fn bom_blank_lines_and_header_order() {
    // The header lists the columns in another order than the schema; a
    // column the schema does not name is skipped.
    let csv = "\u{feff}b,skip,a\r\nx,1,10\r\n\r\ny,2,20\r\n";
    let batch = Case::new(csv, r#"{"columns":[{"name":"a","type":"int64"},{"name":"b","type":"string"}]}"#).converts();
    assert_eq!(batch.num_columns(), 2);
    let a = batch.column(0).as_primitive::<Int64Type>();
    assert_eq!(a.values().to_vec(), vec![10, 20]);
    let b = batch.column(1).as_string::<i32>();
    assert_eq!((b.value(0), b.value(1)), ("x", "y"));
}

#[test]
fn no_header_and_other_dialects() {
    let mut case =
        Case::new("1;'a;b'\n2;'it''s'\n", r#"{"columns":[{"name":"n","type":"int32"},{"name":"s","type":"string"}]}"#);
    case.options.has_header = false;
    case.options.delimiter = b';';
    case.options.quote = b'\'';
    let batch = case.converts();
    let s = batch.column(1).as_string::<i32>();
    assert_eq!((s.value(0), s.value(1)), ("a;b", "it's"));
}

#[test]
fn null_markers() {
    let mut case = Case::new(
        "a,b\nNA,x\n1,NULL\n,\n",
        r#"{"columns":[{"name":"a","type":"int64"},{"name":"b","type":"string"}]}"#,
    );
    case.options.null_markers = vec!["NA".into(), "NULL".into()];
    let batch = case.converts();
    let b = batch.column(1).as_string::<i32>();
    assert!(batch.column(0).is_null(0));
    assert!(b.is_null(1));
    assert_eq!(b.value(2), "", "the empty field is text once it is not a null marker");
}

#[test]
fn no_schema_reads_every_column_as_text() {
    let case = Case { schema: None, ..Case::new("x,y\n1,\n", r#"{"columns":[{"name":"x","type":"string"}]}"#) };
    let batch = case.converts();
    assert_eq!(batch.schema().field(0).name(), "x");
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "1");
    assert!(batch.column(1).is_null(0));
}

#[test]
fn empty_input_and_header_only_give_an_empty_file() {
    for csv in ["", "a,b\n"] {
        let batch =
            Case::new(csv, r#"{"columns":[{"name":"a","type":"int64"},{"name":"b","type":"string"}]}"#).converts();
        assert_eq!(batch.num_rows(), 0);
    }
}

#[test]
fn a_bom_inside_the_data_is_kept_at_every_chunk_boundary() {
    // Regression: csv-core drops a BOM at the start of each reader's input,
    // so a record that starts with one lost it when a chunk began there.
    let csv = "s\n\u{feff}a\n\u{feff}b\n";
    let batch = Case::new(csv, r#"{"columns":[{"name":"s","type":"string"}]}"#).converts();
    let s = batch.column(0).as_string::<i32>();
    assert_eq!((s.value(0), s.value(1)), ("\u{feff}a", "\u{feff}b"));
}

#[test]
fn a_bom_after_the_start_is_data_in_every_dialect() {
    // The input's own BOM is skipped; a later one, after blank lines, is a
    // value's first character, for the fast path and for csv-core alike.
    let text = "\u{FEFF}\n\n\u{FEFF}v,1\n\n\u{FEFF}w,2\n";
    let schema = r#"{"columns": [{"name": "s", "type": "string"}, {"name": "n", "type": "int64"}]}"#;
    for escape in [None, Some(b'\\')] {
        let mut case = Case::new(text, schema);
        case.options.has_header = false;
        case.options.escape = escape;
        let batch = case.converts();
        let s = batch.column(0).as_string::<i32>();
        assert_eq!((s.value(0), s.value(1)), ("\u{FEFF}v", "\u{FEFF}w"), "escape {escape:?}");
    }
}
