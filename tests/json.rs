//! NDJSON through the same stages: nested values, coercions, and errors
//! located by line, under every strategy.

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int32Type, Int64Type, TimestampMillisecondType, UInt8Type};
use arrow_array::Array;

use crate::util::Case;

#[test]
fn nested_structs_and_lists() {
    let text = concat!(
        r#"{"id": 1, "addr": {"city": "Zürich", "zip": 8001}, "tags": ["a", "b"], "items": [{"sku": "x", "qty": 2}]}"#,
        "\n\n",
        r#"{"id": 2, "addr": null, "tags": [], "items": [{"sku": "y"}, {"qty": 3, "sku": "z", "extra": {"deep": [1]}}]}"#,
        "\n",
        r#"{"id": 3, "extra": [[[]]]}"#,
        "\n",
    );
    let schema = r#"{"columns": [
        {"name": "id", "type": "int64", "nullable": false},
        {"name": "addr", "type": "struct<city: string, zip: int32>"},
        {"name": "tags", "type": "list<string>"},
        {"name": "items", "type": "list<struct<sku: string, qty: int32>>"}]}"#;
    let batch = Case::ndjson(text, schema).converts();
    assert_eq!(batch.num_rows(), 3);
    let id = batch.column(0).as_primitive::<Int64Type>();
    assert_eq!(id.values().to_vec(), vec![1, 2, 3]);
    let addr = batch.column(1).as_struct();
    assert!(addr.is_valid(0) && addr.is_null(1) && addr.is_null(2));
    assert_eq!(addr.column(0).as_string::<i32>().value(0), "Zürich");
    assert_eq!(addr.column(1).as_primitive::<Int32Type>().value(0), 8001);
    let tags = batch.column(2).as_list::<i32>();
    assert_eq!(tags.value_length(0), 2);
    assert_eq!(tags.value_length(1), 0);
    assert!(tags.is_null(2));
    let items = batch.column(3).as_list::<i32>();
    assert_eq!(items.value_length(1), 2);
    let item_structs = items.values().as_struct();
    let skus = item_structs.column(0).as_string::<i32>();
    assert_eq!((skus.value(0), skus.value(1), skus.value(2)), ("x", "y", "z"));
    let qty = item_structs.column(1).as_primitive::<Int32Type>();
    assert!(qty.is_null(1), "a missing key is null");
    assert_eq!(qty.value(2), 3);
}

#[test]
fn coercions_a_user_expects() {
    let text = concat!(
        r#"{"n": 255, "price": 12.5, "ts": "2024-05-12T10:00:00+02:00", "s": 42, "f": 3}"#,
        "\n",
        r#"{"n": 0, "price": "0.01", "ts": "2024-05-12T08:00:00.5Z", "s": true, "f": 1.5e3}"#,
    );
    let schema = r#"{"columns": [
        {"name": "n", "type": "uint8"}, {"name": "price", "type": "decimal(10,2)"},
        {"name": "ts", "type": "timestamp[ms, tz=UTC]"}, {"name": "s", "type": "string"},
        {"name": "f", "type": "float64"}]}"#;
    let batch = Case::ndjson(text, schema).converts();
    assert_eq!(batch.column(0).as_primitive::<UInt8Type>().values().to_vec(), vec![255, 0]);
    let price = batch.column(1).as_primitive::<Decimal128Type>();
    assert_eq!((price.value(0), price.value(1)), (1250, 1));
    let ts = batch.column(2).as_primitive::<TimestampMillisecondType>();
    assert_eq!(ts.value(0), 1_715_500_800_000);
    assert_eq!(ts.value(1), 1_715_500_800_500);
    let s = batch.column(3).as_string::<i32>();
    assert_eq!((s.value(0), s.value(1)), ("42", "true"));
}

const SCHEMA: &str =
    r#"{"columns": [{"name": "id", "type": "int8", "nullable": false}, {"name": "s", "type": "string"}]}"#;

#[test]
fn a_number_that_does_not_fit() {
    let err = Case::ndjson("{\"id\": 1}\n\n{\"id\": 300}\n", SCHEMA).fails();
    assert_eq!(
        err, "case:line 3, byte 11, record 1, column \"id\": value does not parse as int8: \"300\"",
        "the value at fault is shown, not its record"
    );
}

#[test]
fn a_line_that_is_not_an_object_or_not_json() {
    let err = Case::ndjson("{\"id\": 1}\n[1]\n", SCHEMA).fails();
    assert!(err.starts_with("case:line 2, byte 10, record 1: JSON record is not an object"), "{err}");
    let err = Case::ndjson("{\"id\": 1}\n{\"id\": 2\n", SCHEMA).fails();
    assert!(err.starts_with("case:line 2, byte 10, record 1: invalid JSON"), "{err}");
}

#[test]
fn missing_required_duplicate_and_unknown_keys() {
    let err = Case::ndjson("{\"s\": \"x\"}\n", SCHEMA).fails();
    assert!(err.contains("column \"id\": null value in a column that is not nullable"), "{err}");
    let err = Case::ndjson("{\"id\": 1, \"id\": 2}\n", SCHEMA).fails();
    assert!(err.contains("column \"id\": JSON object has the same key twice"), "{err}");
    let err = Case::ndjson("{\"id\": 1, \"x\": 1, \"x\": 2}\n", SCHEMA).fails();
    assert!(err.contains("column \"x\": JSON object has the same key twice"), "unknown keys too: {err}");
    // Past a few unknown keys the check uses a set: same verdicts.
    let many: String = (0..40).map(|k| format!(", \"k{k}\": {k}")).collect();
    assert_eq!(Case::ndjson(format!("{{\"id\": 1{many}}}\n"), SCHEMA).converts().num_rows(), 1);
    let err = Case::ndjson(format!("{{\"id\": 1{many}, \"k3\": 0}}\n"), SCHEMA).fails();
    assert!(err.contains("column \"k3\": JSON object has the same key twice"), "{err}");
    let mut case = Case::ndjson("{\"id\": 1, \"other\": {}}\n", SCHEMA);
    assert_eq!(case.converts().num_rows(), 1, "unknown keys are skipped by default");
    case.json.unknown_fields_are_errors = true;
    assert!(case.fails().contains("column \"other\": JSON object has a key the schema does not name"));
}

#[test]
fn a_bad_nested_value_names_its_dotted_path() {
    let schema = r#"{"columns": [{"name": "addr", "type": "struct<city: string, zip: int32>"}]}"#;
    let err = Case::ndjson("{\"addr\": {\"zip\": \"x\"}}\n", schema).fails();
    assert!(err.contains("column \"addr.zip\": value does not parse as int32"), "{err}");
}

/// The NDJSON records of `nested_structs_and_lists` as one array, with
/// whitespace and line breaks wherever JSON allows them.
const NESTED_ARRAY: &str = concat!(
    "\u{feff} \n[ ",
    r#"{"id": 1, "addr": {"city": "Zürich", "zip": 8001}, "tags": ["a", "b"], "items": [{"sku": "x", "qty": 2}]}"#,
    " ,\n\t",
    r#"{"id": 2, "addr": null, "tags": [], "items": [{"sku": "y"}, {"qty": 3, "sku": "z", "extra": {"deep": [1]}}]}"#,
    ",",
    r#"{"id": 3, "extra": [[[]]]}"#,
    "\n]\n\n",
);

const NESTED_SCHEMA: &str = r#"{"columns": [
    {"name": "id", "type": "int64", "nullable": false},
    {"name": "addr", "type": "struct<city: string, zip: int32>"},
    {"name": "tags", "type": "list<string>"},
    {"name": "items", "type": "list<struct<sku: string, qty: int32>>"}]}"#;

#[test]
fn an_array_reads_as_its_elements_would_as_lines() {
    let lines: String = NESTED_ARRAY
        .trim_start_matches(['\u{feff}', ' ', '\n', '['])
        .trim_end_matches(['\n', ']'])
        .split(" ,\n\t")
        .flat_map(|s| s.split(",{\"id\": 3"))
        .enumerate()
        .map(|(i, s)| if i == 2 { format!("{{\"id\": 3{s}\n") } else { format!("{}\n", s.trim()) })
        .collect();
    assert_eq!(lines.lines().count(), 3, "{lines}");
    let from_lines = Case::ndjson(lines, NESTED_SCHEMA).converts();
    let from_array = Case::json_array(NESTED_ARRAY, NESTED_SCHEMA).converts();
    assert_eq!(from_array, from_lines);
}

#[test]
fn strings_that_look_like_structure() {
    let text = r#"[{"s": "a,b]c"}, {"s": "q\"]},{"}, {"s": "back\\"}, {"s": "\\\"\\"},{"s":"[{"}]"#;
    let batch = Case::json_array(text, SCHEMA.replace("false", "true").as_str()).converts();
    let s = batch.column(1).as_string::<i32>();
    let values: Vec<_> = (0..s.len()).map(|i| s.value(i)).collect();
    assert_eq!(values, vec!["a,b]c", "q\"]},{", "back\\", "\\\"\\", "[{"]);
}

#[test]
fn an_empty_array_has_no_rows() {
    for text in ["[]", " [ ] ", "\n[\n]\n", "\u{feff}[]"] {
        assert_eq!(Case::json_array(text, SCHEMA).converts().num_rows(), 0, "{text:?}");
    }
}

#[test]
fn an_element_that_is_not_an_object() {
    let err = Case::json_array("[{\"id\": 1},\n [1]]", SCHEMA).fails();
    assert_eq!(err, "case:line 2, byte 13, record 1: JSON record is not an object: \"[1]\"");
}

#[test]
fn a_value_that_does_not_fit_names_element_and_line() {
    let err = Case::json_array("[\n{\"id\": 1},\n{\"id\": 2}, {\"id\": 300}\n]", SCHEMA).fails();
    assert_eq!(err, "case:line 3, byte 24, record 2, column \"id\": value does not parse as int8: \"300\"");
}

#[test]
fn broken_array_structure() {
    let cases = [
        ("[{\"id\": 1} {\"id\": 2}]", "line 1, byte 1, record 0: invalid JSON (missing `,` after this array element): \"{\\\"id\\\": 1}\""),
        ("[{\"id\": 1},]", "line 1, byte 11, record 1: invalid JSON (a `,` before the array's closing `]` (trailing comma)): \"]\""),
        ("[{\"id\": 1}, ,{\"id\": 2}]", "line 1, byte 12, record 1: invalid JSON (an array element is missing before this `,`): \",\""),
        ("[,]", "line 1, byte 1, record 0: invalid JSON (an array element is missing before this `,`): \",\""),
        ("[{\"id\": 1}, {\"id\": 2}", "line 1, byte 12, record 1: invalid JSON (the array is not closed before the end of the input): \"{\\\"id\\\": 2}\""),
        ("[{\"id\": 1},\n", "line 2, byte 12, record 1: invalid JSON (the array is not closed before the end of the input)"),
        ("[{\"id\": 1}", "line 1, byte 1, record 0: invalid JSON (the array is not closed before the end of the input): \"{\\\"id\\\": 1}\""),
        ("[{\"id\": \"]}", "line 1, byte 1, record 0: invalid JSON (the array is not closed before the end of the input): \"{\\\"id\\\": \\\"]}\""),
        ("  [", "line 1, byte 3, record 0: invalid JSON (the array is not closed before the end of the input)"),
        ("[{\"id\": 1}] \n x", "line 2, byte 14, record 1: invalid JSON (data after the array's closing `]`): \"x\""),
        ("[{\"id\": 1}]]", "line 1, byte 11, record 1: invalid JSON (data after the array's closing `]`): \"]\""),
        ("", "line 1, byte 0, record 0: invalid JSON (the input is empty; a JSON array was expected)"),
        (" \n ", "line 2, byte 3, record 0: invalid JSON (the input is empty; a JSON array was expected)"),
        ("{\"id\": 1}", "line 1, byte 0, record 0: invalid JSON (the input is not a JSON array: it does not start with `[`): \"{\\\"id\\\": 1}\""),
        ("\n 7", "line 2, byte 2, record 0: invalid JSON (the input is not a JSON array: it does not start with `[`): \"7\""),
    ];
    for (text, expected) in cases {
        let err = Case::json_array(text, SCHEMA).fails();
        assert_eq!(err, format!("case:{expected}"), "{text:?}");
    }
}

#[test]
fn a_missing_comma_reads_the_same_at_any_chunk_size() {
    // Chunks too small for the two elements together meet it in the
    // splitter, larger ones in the decoder: the error is the same.
    let text = "[{\"id\": 1},\n{\"id\": 2} {\"id\": 3},\n{\"id\": 4}]";
    let err = Case::json_array(text, SCHEMA).fails_at(&[12, 13, 15, 19, 25, 64, 4096]);
    let expected =
        "case:line 2, byte 12, record 1: invalid JSON (missing `,` after this array element): \"{\\\"id\\\": 2}\"";
    assert_eq!(err, expected);
}

#[test]
fn errors_in_an_element_come_before_later_broken_structure() {
    let err = Case::json_array("[{\"id\": 1}, {\"id\": \"x\"}, {\"id\": 3}] trailing", SCHEMA).fails();
    assert!(err.starts_with("case:line 1, byte 12, record 1, column \"id\": value does not parse as int8"), "{err}");
}

#[test]
fn invalid_utf8_in_an_element() {
    let err = Case::json_array(b"[{\"id\": 1}, {\"s\": \"\xff\"}]".to_vec(), SCHEMA).fails();
    assert!(err.starts_with("case:line 1, byte 12, record 1: invalid UTF-8"), "{err}");
}

#[test]
fn an_element_larger_than_the_chunk_is_too_large() {
    let text = "[{\"id\": 1},\n  {\"id\": 2, \"s\": \"0123456789012345678901234567890\"}, {\"id\": 3}]";
    let err = Case::json_array(text, SCHEMA).fails_at(&[24]);
    let at_24 =
        "case:line 2, byte 14, record 1: record is larger than the largest record the budget allows (24 bytes); \
                 raise --memory or --chunk-bytes: \"{\\\"id\\\": 2, \\\"s\\\": \\\"01234\"";
    assert_eq!(err, at_24);
    // Too large at the end of the input, where the array also never closes:
    // too large it is, whether the rest was read (mapped) or not (stream).
    let err = Case::json_array("[{\"id\": 1}, {\"s\": \"0123456789012345678901234567890\"", SCHEMA).fails_at(&[20]);
    assert!(err.starts_with("case:line 1, byte 12, record 1: record is larger than"), "{err}");
}

#[test]
fn a_line_nested_too_deep_is_refused_without_overflowing_the_stack() {
    let mut text = b"{\"id\": 1}\n".to_vec();
    text.extend(std::iter::repeat_n(b'[', 100_000));
    text.push(b'\n');
    let err = Case::ndjson(text, SCHEMA).fails();
    let shown = "[".repeat(200) + "…";
    assert_eq!(
        err,
        format!(
            "case:line 2, byte 10, record 1: JSON record is nested deeper than 128 levels (the record itself is \
             level 1); raise --max-depth: {shown:?}"
        )
    );
}

#[test]
fn an_element_nested_too_deep_is_refused_without_overflowing_the_stack() {
    let deep = format!("{{\"s\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let text = format!("[{{\"id\": 1}},\n{deep}]");
    let err = Case::json_array(text, SCHEMA).fails();
    assert!(err.starts_with("case:line 2, byte 12, record 1: JSON record is nested deeper than 128 levels"), "{err}");
}

#[test]
fn the_depth_limit_counts_the_record_as_level_one() {
    let schema = r#"{"columns": [{"name": "a", "type": "struct<b: list<int32>>"}]}"#;
    let mut case = Case::ndjson("{\"a\": {\"b\": [1]}}\n{\"a\": {\"b\": [2], \"c\": [[3]]}}\n", schema);
    case.json.max_depth = 4;
    assert_eq!(case.converts().num_rows(), 2);
    case.json.max_depth = 3;
    let err = case.fails();
    assert!(err.starts_with("case:line 2, byte 18, record 1: JSON record is nested deeper than 3 levels"), "{err}");
    case.format = sluicegate::spec::Format::JsonArray;
    case.csv = b"[{\"a\": {\"b\": [1]}}, {\"a\": {\"b\": [2], \"c\": [[3]]}}]".to_vec();
    let err = case.fails();
    assert!(err.starts_with("case:line 1, byte 20, record 1: JSON record is nested deeper than 3 levels"), "{err}");
}

const FLAT_SCHEMA: &str = r#"{"columns": [
    {"name": "addr.geo.lat", "type": "float64"},
    {"name": "id", "type": "int64", "nullable": false},
    {"name": "addr.city", "type": "string"},
    {"name": "addr.zip", "type": "int32"},
    {"name": "seen", "type": "timestamp[s]", "format": "%d/%m/%Y %H:%M"}]}"#;

fn flat(case: Case) -> Case {
    let mut case = case;
    case.json.flatten = true;
    case
}

#[test]
fn flatten_reads_nested_objects_into_dotted_columns() {
    let lines = concat!(
        r#"{"id": 1, "addr": {"city": "Zürich", "zip": 8001, "geo": {"lat": 47.4, "lon": 8.5}}, "seen": "12/05/2024 10:00"}"#,
        "\n",
        r#"{"id": 2, "addr": null}"#,
        "\n",
        r#"{"addr": {"geo": null, "city": "Bern"}, "id": 3, "other": {"addr": {"city": "no"}}}"#,
        "\n",
        r#"{"id": 4, "addr": {}}"#,
        "\n",
    );
    let batch = flat(Case::ndjson(lines, FLAT_SCHEMA)).converts();
    let names: Vec<_> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["addr.geo.lat", "id", "addr.city", "addr.zip", "seen"]);
    let lat = batch.column(0).as_primitive::<arrow_array::types::Float64Type>();
    assert_eq!((lat.value(0), lat.null_count()), (47.4, 3));
    assert_eq!(batch.column(1).as_primitive::<Int64Type>().values().to_vec(), vec![1, 2, 3, 4]);
    let city = batch.column(2).as_string::<i32>();
    assert_eq!((city.value(0), city.is_null(1), city.value(2), city.is_null(3)), ("Zürich", true, "Bern", true));
    assert_eq!(batch.column(3).as_primitive::<Int32Type>().value(0), 8001);
    let seen = batch.column(4).as_primitive::<TimestampMillisecondType>();
    assert_eq!(seen.value(0), 1_715_508_000_000, "a dotted schema keeps each column's format");

    let array = format!("[{}]", lines.trim_end().replace('\n', ",\n"));
    assert_eq!(flat(Case::json_array(array, FLAT_SCHEMA)).converts(), batch);
}

#[test]
fn flatten_errors_name_the_dotted_column() {
    let err = flat(Case::ndjson("{\"id\": 1, \"addr\": {\"zip\": \"x\"}}\n", FLAT_SCHEMA)).fails();
    assert_eq!(err, "case:line 1, byte 0, record 0, column \"addr.zip\": value does not parse as int32: \"x\"");
    let err = flat(Case::json_array("[{\"id\": 1, \"addr\": 5}]", FLAT_SCHEMA)).fails();
    assert!(
        err.starts_with("case:line 1, byte 1, record 0, column \"addr\": value does not parse as struct<"),
        "{err}"
    );

    let required = FLAT_SCHEMA.replace(r#""type": "string"}"#, r#""type": "string", "nullable": false}"#);
    for text in ["{\"id\": 1}\n", "{\"id\": 1, \"addr\": null}\n", "{\"id\": 1, \"addr\": {\"zip\": 1}}\n"] {
        let err = flat(Case::ndjson(text, &required)).fails();
        assert!(err.contains("column \"addr.city\": null value in a column that is not nullable"), "{text}: {err}");
    }

    let mut case = flat(Case::ndjson("{\"id\": 1, \"addr\": {\"city\": \"x\", \"street\": \"y\"}}\n", FLAT_SCHEMA));
    case.json.unknown_fields_are_errors = true;
    assert!(case.fails().contains("column \"addr.street\": JSON object has a key the schema does not name"));
}

#[test]
fn without_flatten_a_dot_is_part_of_the_key() {
    let schema = r#"{"columns": [{"name": "addr.city", "type": "string"}]}"#;
    let batch = Case::ndjson("{\"addr.city\": \"x\", \"addr\": {\"city\": \"y\"}}\n", schema).converts();
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "x");
    let batch = flat(Case::ndjson("{\"addr.city\": \"x\", \"addr\": {\"city\": \"y\"}}\n", schema)).converts();
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "y");
}

#[test]
fn flatten_refuses_a_path_that_is_both_a_value_and_an_object() {
    let schema = r#"{"columns": [{"name": "a", "type": "int64"}, {"name": "a.b", "type": "int64"}]}"#;
    let err = flat(Case::ndjson("{}\n", schema)).fails();
    assert!(err.contains("invalid spec: column \"a.b\" and another column name the same path"), "{err}");
    let schema = r#"{"columns": [{"name": "a..b", "type": "int64"}]}"#;
    assert!(flat(Case::ndjson("{}\n", schema)).fails().contains("an empty key"));
}

const WIDE_SCHEMA: &str = r#"{"columns": [
    {"name": "d38_19", "type": "decimal(38,19)"}, {"name": "d38_0", "type": "decimal(38,0)"},
    {"name": "d10_2", "type": "decimal(10,2)"}, {"name": "f", "type": "float64"},
    {"name": "u", "type": "uint64"}, {"name": "s", "type": "string"}]}"#;

/// Numbers as text, one record each, for `WIDE_SCHEMA`.
const WIDE: [&str; 4] = [
    r#"{"d38_19": 0.1234567890123456789, "d38_0": 99999999999999999999999999999999999999, "d10_2": 1.5e3, "f": 18446744073709551616, "u": 18446744073709551615, "s": 18446744073709551616}"#,
    r#"{"d38_19": 1234567890123456789.1234567890123456789, "d38_0": -18446744073709551616, "d10_2": -0, "f": -9223372036854775809, "u": 0, "s": -9223372036854775809}"#,
    r#"{"d38_19": -0.0, "d38_0": -99999999999999999999999999999999999999, "d10_2": 2.50E-1, "f": 123456789012345678901, "u": 1, "s": 1e19}"#,
    r#"{"d38_19": -1E-19, "d38_0": 1.8446744073709551616e19, "d10_2": 99999999.99, "f": -0, "u": 2, "s": -0}"#,
];

fn decimals(batch: &arrow_array::RecordBatch, c: usize) -> Vec<i128> {
    batch.column(c).as_primitive::<Decimal128Type>().values().to_vec()
}

#[test]
fn json_numbers_into_decimals_keep_every_digit() {
    let batch = Case::ndjson(WIDE.join("\n"), WIDE_SCHEMA).converts();
    let digits_38 = 10i128.pow(38) - 1;
    assert_eq!(
        decimals(&batch, 0),
        vec![1_234_567_890_123_456_789, 12_345_678_901_234_567_891_234_567_890_123_456_789, 0, -1]
    );
    assert_eq!(
        decimals(&batch, 1),
        vec![digits_38, -18_446_744_073_709_551_616, -digits_38, 18_446_744_073_709_551_616]
    );
    assert_eq!(decimals(&batch, 2), vec![150_000, 0, 25, 9_999_999_999]);
    let f = batch.column(3).as_primitive::<arrow_array::types::Float64Type>();
    let nearest = |s: &str| s.parse::<f64>().unwrap();
    assert_eq!(
        f.values().to_vec(),
        vec![18_446_744_073_709_551_616.0, -9_223_372_036_854_775_808.0, nearest("123456789012345678901"), 0.0]
    );
    assert!(f.value(3).is_sign_positive(), "-0 is the integer zero");
    let u = batch.column(4).as_primitive::<arrow_array::types::UInt64Type>();
    assert_eq!(u.values().to_vec(), vec![u64::MAX, 0, 1, 2]);
    let s = batch.column(5).as_string::<i32>();
    let s: Vec<_> = s.iter().map(Option::unwrap).collect();
    assert_eq!(s, ["18446744073709551616", "-9223372036854775809", "10000000000000000000", "0"]);

    let array = format!("[\n{}\n]", WIDE.join(",\n"));
    assert_eq!(Case::json_array(array, WIDE_SCHEMA).converts(), batch);
}

const NUMBER_SCHEMA: &str = r#"{"columns": [{"name": "id", "type": "int64", "nullable": false},
    {"name": "v", "type": "TYPE"}]}"#;

/// The reject a bad `v` gives as the only bad one of three NDJSON records,
/// and the same record inside a JSON array: code, column, line, byte, record.
fn json_reject(v: &str, type_name: &str) -> Vec<(String, String, u64, u64, u64)> {
    let schema = NUMBER_SCHEMA.replace("TYPE", type_name);
    let records = [r#"{"id": 1, "v": 0}"#.to_string(), format!(r#"{{"id": 2, "v": {v}}}"#), r#"{"id": 3}"#.to_string()];
    let lines = Case::ndjson(records.join("\n") + "\n", &schema);
    let array = Case::json_array(format!("[{}]", records.join(",\n ")), &schema);
    let mut got = Vec::new();
    for case in [lines, array] {
        let (batch, rejects) = case.rejects();
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().values().to_vec(), vec![1, 3], "{v} into {type_name}");
        for r in rejects {
            let p = &r["problems"][0];
            let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
            let n = |k: &str| r[k].as_u64().unwrap();
            got.push((text(&p["code"]), text(&p["column"]), n("line"), n("byte_offset"), n("record")));
        }
    }
    got
}

#[test]
fn a_json_number_a_column_cannot_hold_is_a_type_error_as_in_csv() {
    // NDJSON: after a 17-byte line and its LF; array: after `[`, it and `,\n `.
    let expected: Vec<(String, String, u64, u64, u64)> =
        vec![("type-error".into(), "v".into(), 2, 18, 1), ("type-error".into(), "v".into(), 2, 21, 1)];
    for (v, type_name) in [
        ("18446744073709551616", "int64"),
        ("-9223372036854775809", "int64"),
        ("18446744073709551616", "uint64"),
        ("-1", "uint64"),
        ("123456789012345678901234567890", "int32"),
        ("1.234", "decimal(10,2)"),
        ("1.2345e1", "decimal(10,2)"),
        ("100000000", "decimal(10,2)"),
        ("1e8", "decimal(10,2)"),
        ("100000000000000000000000000000000000000", "decimal(38,0)"),
        ("0.12345678901234567891", "decimal(38,19)"),
    ] {
        assert_eq!(json_reject(v, type_name), expected, "{v} into {type_name}");
        // The same text as a CSV field (a JSON exponent aside, which CSV
        // does not read) is refused the same way.
        if !v.contains('e') {
            let schema = NUMBER_SCHEMA.replace("TYPE", type_name);
            let (_, rejects) = Case::new(format!("id,v\n1,0\n2,{v}\n3,\n"), &schema).rejects();
            assert_eq!((rejects.len(), &rejects[0]["problems"][0]["code"]), (1, &"type-error".into()), "{v}");
        }
    }
}

#[test]
fn an_integer_past_64_bits_fails_with_its_column_and_place() {
    let schema = NUMBER_SCHEMA.replace("TYPE", "int64");
    let err = Case::ndjson("{\"id\": 1, \"v\": 2}\n{\"id\": 2, \"v\": 99999999999999999999}\n", &schema).fails();
    assert_eq!(
        err,
        "case:line 2, byte 18, record 1, column \"v\": value does not parse as int64: \"99999999999999999999\""
    );
    let err = Case::json_array("[{\"id\": 1, \"v\": 2},\n {\"id\": 2, \"v\": -99999999999999999999}]", &schema).fails();
    assert!(err.starts_with("case:line 2, byte 21, record 1, column \"v\": value does not parse as int64"), "{err}");
    let case = Case::ndjson("{\"id\": 1, \"v\": 2}\n{\"id\": 2, \"v\": 99999999999999999999}\n", &schema);
    let batch = case.on(sluicegate::spec::OnError::Null).converts();
    assert_eq!(batch.column(0).as_primitive::<Int64Type>().values().to_vec(), vec![1, 2]);
    let v = batch.column(1).as_primitive::<Int64Type>();
    assert_eq!((v.value(0), v.is_null(1)), (2, true), "the value that does not fit is made null");
}
