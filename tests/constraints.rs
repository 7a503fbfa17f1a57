//! Schema constraints and Frictionless Table Schema files, through the pipeline.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_schema::{DataType, TimeUnit};
use sluicegate::spec::Schema;
use sluicegate::validate::Validator;

use crate::util::Case;

const ORDERS: &str = include_str!("../testdata/orders_sample.csv");
const FRICTIONLESS: &str = include_str!("../testdata/orders.frictionless.json");

#[test]
fn a_frictionless_table_schema_converts_the_orders_sample() {
    let schema = Schema::from_json(FRICTIONLESS).unwrap();
    let types: Vec<DataType> = schema.columns.iter().map(|c| c.data_type.clone()).collect();
    let utc_us = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Int64,
            DataType::Int64,
            DataType::Int64,
            DataType::Float64,
            DataType::Float64,
            utc_us,
            DataType::Date32,
            DataType::Boolean,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Float64,
        ]
    );
    assert_eq!(Schema::null_markers_from_json(FRICTIONLESS).unwrap(), Some(vec![String::new()]));

    let batch = Case::new(ORDERS, FRICTIONLESS).converts();
    assert_eq!(batch.num_rows(), 50);
    assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(49), 50);

    // Every field is constrained and the sample keeps to every constraint.
    let validator = Validator::new(&schema).unwrap();
    let mut violations = Vec::new();
    validator.check(&batch, &mut violations);
    assert_eq!(violations, []);
}

#[test]
fn tighter_constraints_find_the_rows_that_break_them() {
    let tight = FRICTIONLESS
        .replace(r#""maximum": 4294967295"#, r#""maximum": 14"#)
        .replace(r#""[A-Z]{2}""#, r#""[A-M][A-Z]""#);
    let schema = Schema::from_json(&tight).unwrap();
    // Decoded under the loose constraints, checked under the tight ones.
    let batch = Case::new(ORDERS, FRICTIONLESS).converts();
    let mut violations = Vec::new();
    Validator::new(&schema).unwrap().check(&batch, &mut violations);
    let got: Vec<String> = violations
        .iter()
        .map(|v| format!("{} {} {}: {:?}", v.row, schema.columns[v.column].name, v.kind, v.value))
        .collect();
    let rows: Vec<(usize, usize)> = violations.iter().map(|v| (v.row, v.column)).collect();
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(rows, sorted, "sorted by row, then column");

    // An independent reading of the sample: quantities over 14, countries N-Z.
    let mut want = Vec::new();
    for (row, line) in ORDERS.lines().skip(1).filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields[3].parse::<u64>().unwrap() > 14 {
            want.push(format!("{row} quantity value violates constraint maximum 14: {:?}", fields[3]));
        }
        if fields[10].as_bytes().first().is_some_and(|c| *c > b'M') {
            want.push(format!("{row} country value violates constraint pattern [A-M][A-Z]: {:?}", fields[10]));
        }
    }
    assert!(!want.is_empty());
    assert_eq!(got, want);

    // Through the pipeline the same rows are rejected, the others written.
    let (kept, rejects) = Case::new(ORDERS, &tight).rejects();
    let mut bad_rows: Vec<usize> = violations.iter().map(|v| v.row).collect();
    bad_rows.dedup();
    assert_eq!(rejects.iter().map(|r| r["record"].as_u64().unwrap() as usize).collect::<Vec<_>>(), bad_rows);
    assert_eq!(kept.num_rows(), batch.num_rows() - bad_rows.len());
}

#[test]
fn frictionless_types_without_a_mapping_are_spec_errors() {
    let err = Schema::from_json(r#"{"fields": [{"name": "a", "type": "geopoint"}]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid spec: column \"a\": the Frictionless type \"geopoint\" has no Arrow mapping in sluicegate \
         (supported: string, integer, number, boolean, date, datetime, year)"
    );
    let err = Schema::from_json(r#"{"fields": [{"name": "a", "type": "number"}, {"name": "b", "type": "int64"}]}"#)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid spec: column \"a\": \"number\" is a Frictionless type name, but other columns have Arrow type \
         names; a schema file uses one kind or the other"
    );
    let err = Schema::from_json(r#"{"fields": [{"name": "d", "type": "date", "format": "any"}]}"#).unwrap_err();
    assert!(err.to_string().contains(r#"format "any" of a Frictionless date field is not supported"#), "{err}");
}

#[test]
fn frictionless_fields_without_a_type_are_strings_and_formats_are_read() {
    let schema = Schema::from_json(
        r#"{"fields": [{"name": "a"}, {"name": "y", "type": "year"},
                       {"name": "d", "type": "date", "format": "%d/%m/%Y"},
                       {"name": "e", "type": "string", "format": "email"}]}"#,
    )
    .unwrap();
    let got: Vec<(DataType, Option<&str>)> =
        schema.columns.iter().map(|c| (c.data_type.clone(), c.format.as_deref())).collect();
    assert_eq!(
        got,
        [(DataType::Utf8, None), (DataType::Int32, None), (DataType::Date32, Some("%d/%m/%Y")), (DataType::Utf8, None)]
    );
}
