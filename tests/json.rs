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
        err,
        "case:line 3, byte 11, record 1, column \"id\": value does not parse as int8: \"{\\\"id\\\": 300}\""
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
