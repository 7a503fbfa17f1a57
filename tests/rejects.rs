//! The reject and null policies: bad records set aside with all their
//! problems, located exactly, the same under every strategy; nothing lost.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::Array;
use sluicegate::spec::OnError;

use crate::util::Case;

const SCHEMA: &str = r#"{"columns": [
    {"name": "id", "type": "int64", "nullable": false},
    {"name": "note", "type": "string"},
    {"name": "n", "type": "int32"}]}"#;

fn ids(batch: &arrow_array::RecordBatch) -> Vec<i64> {
    batch.column(0).as_primitive::<Int64Type>().values().to_vec()
}

#[test]
fn every_problem_of_a_record_in_one_reject() {
    let csv = "id,note,n\n1,\"a\nb\",1\nx,ok,y\n3,\"c\"\"d\",3\n4,too,many,fields\n5,e,5\r\n\r\n,f,6\n7,g,7";
    let (batch, rejects) = Case::new(csv, SCHEMA).rejects();
    assert_eq!(ids(&batch), vec![1, 3, 5, 7]);
    assert_eq!(rejects.len(), 3);
    let r = &rejects[0];
    assert_eq!((r["line"].as_u64(), r["byte_offset"].as_u64(), r["record"].as_u64()), (Some(4), Some(20), Some(1)));
    assert_eq!(r["raw"], "x,ok,y");
    let codes: Vec<_> =
        r["problems"].as_array().unwrap().iter().map(|p| (p["code"].clone(), p["column"].clone())).collect();
    assert_eq!(codes, vec![("type-error".into(), "id".into()), ("type-error".into(), "n".into())]);
    assert_eq!(r["problems"][1]["value"], "y");
    assert_eq!(r["problems"][1]["message"], "value does not parse as int32");
    assert_eq!(rejects[1]["problems"][0]["code"], "extra-cell");
    assert_eq!(rejects[1]["record"], 3);
    // The blank line after a CRLF record counts as a line, not a record.
    let r = &rejects[2];
    assert_eq!((r["line"].as_u64(), r["record"].as_u64()), (Some(9), Some(5)));
    assert_eq!(r["problems"][0]["code"], "constraint-error");
    assert_eq!(r["raw"], ",f,6");
}

#[test]
fn a_stray_quote_does_not_move_later_record_boundaries() {
    // An odd quote in an unquoted field flips quote parity for the rest of
    // the input; the records after it hold newlines inside quotes.
    let mut csv = String::from("id,note,n\n1,6\" ruler,1\n");
    for i in 2..40 {
        csv.push_str(&format!("{i},\"line one\nline {i}, two\",{i}\n"));
    }
    let (batch, rejects) = Case::new(csv, SCHEMA).rejects();
    assert_eq!(ids(&batch), (2..40).collect::<Vec<i64>>());
    assert_eq!(batch.column(1).as_string::<i32>().value(0), "line one\nline 2, two");
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["problems"][0]["code"], "malformed-quote");
    assert_eq!(rejects[0]["line"], 2);
}

#[test]
fn invalid_utf8_is_rejected_with_the_raw_bytes_in_base64() {
    let csv = b"id,note,n\n1,ok,1\n2,bad \xff,2\n3,ok,3\n".to_vec();
    let (batch, rejects) = Case::new(csv, SCHEMA).rejects();
    assert_eq!(ids(&batch), vec![1, 3]);
    assert_eq!(rejects[0]["problems"][0]["code"], "encoding-error");
    assert!(rejects[0].get("raw").is_none());
    assert_eq!(rejects[0]["raw_base64"], "MixiYWQg/ywy");
}

#[test]
fn a_quote_that_never_closes_fails_under_every_policy() {
    let csv = "id,note,n\n1,a,1\n2,\"never closed,2\n3,c,3\n";
    for policy in [OnError::Reject, OnError::Null, OnError::Fail] {
        let e = Case::new(csv, SCHEMA).on(policy).fails();
        assert!(e.contains("line 3, byte 16, record 1: quoted field is not closed"), "{policy:?}: {e}");
    }
}

#[test]
fn the_null_policy_mends_nullable_columns_and_rejects_the_rest() {
    let csv = "id,note,n\n1,a,x\ny,b,2\n3,c,3\n";
    let batch = Case::new(csv, SCHEMA).on(OnError::Null).converts();
    assert_eq!(ids(&batch), vec![1, 3]);
    let n = batch.column(2).as_primitive::<arrow_array::types::Int32Type>();
    assert!(n.is_null(0) && n.value(1) == 3);
}

const CONSTRAINED: &str = r#"{"columns": [
    {"name": "id", "type": "int64", "nullable": false},
    {"name": "note", "type": "string", "constraints": {"max_length": 5, "pattern": "[a-z]+"}},
    {"name": "n", "type": "int32", "constraints": {"minimum": 0, "maximum": 10}}]}"#;

#[test]
fn constraint_breaks_join_decoding_problems_in_input_order() {
    let csv = "id,note,n\n1,ab,5\n2,toolong,50\nx,c,-1\n4,D,7\n5,e,10\n";
    let (batch, rejects) = Case::new(csv, CONSTRAINED).rejects();
    assert_eq!(ids(&batch), vec![1, 5]);
    let codes: Vec<Vec<String>> = rejects
        .iter()
        .map(|r| r["problems"].as_array().unwrap().iter().map(|p| p["message"].as_str().unwrap().to_string()).collect())
        .collect();
    assert_eq!(
        codes,
        vec![
            vec!["value violates constraint max_length 5", "value violates constraint maximum 10"],
            // A row the decoder rejects is checked against the constraints too.
            vec!["value does not parse as int64", "value violates constraint minimum 0"],
            vec!["value violates constraint pattern [a-z]+"],
        ]
    );
    assert_eq!(rejects.iter().map(|r| r["line"].as_u64().unwrap()).collect::<Vec<_>>(), vec![3, 4, 5]);
    // The fail policy reports the first of them, whichever check found it.
    let e = Case::new(csv, CONSTRAINED).fails();
    assert!(e.contains("line 3, byte 17, record 1, column \"note\": value violates constraint max_length 5"), "{e}");
}

#[test]
fn json_records_are_rejected_and_the_rest_kept() {
    let text =
        "{\"id\":1,\"note\":\"ab\",\"n\":5}\n{\"id\":\"x\"}\n\nnot json\n{\"id\":4,\"note\":\"toolong\"}\n{\"id\":5}\n";
    let (batch, rejects) = Case::ndjson(text, CONSTRAINED).rejects();
    assert_eq!(ids(&batch), vec![1, 5]);
    let at: Vec<_> = rejects.iter().map(|r| (r["line"].as_u64().unwrap(), r["record"].as_u64().unwrap())).collect();
    assert_eq!(at, vec![(2, 1), (4, 2), (5, 3)]);
    assert_eq!(rejects[1]["problems"][0]["code"], "json-syntax");
    assert_eq!(rejects[2]["problems"][0]["code"], "constraint-error");
    assert_eq!(rejects[0]["raw"], "{\"id\":\"x\"}");
}

#[test]
fn a_json_record_lists_every_problem_with_its_value() {
    let text = "{\"id\":\"x\",\"note\":\"ab\",\"n\":\"y\",\"n\":3}\n{\"id\":2,\"n\":1e999}\n{\"id\":3,\"note\":1e999}\n{\"id\":4}\n";
    let (batch, rejects) = Case::ndjson(text, CONSTRAINED).rejects();
    assert_eq!(ids(&batch), vec![4]);
    let problems: Vec<Vec<(String, String, String)>> = rejects
        .iter()
        .map(|r| {
            let problems = r["problems"].as_array().unwrap().iter();
            problems.map(|p| (p["code"].to_string(), p["column"].to_string(), p["value"].to_string())).collect()
        })
        .collect();
    let p = |code: &str, column: &str, value: &str| (format!("{code:?}"), format!("{column:?}"), format!("{value:?}"));
    assert_eq!(
        problems,
        vec![
            vec![
                p("type-error", "id", "x"),
                p("type-error", "n", "y"),
                p("duplicate-key", "n", rejects[0]["raw"].as_str().unwrap())
            ],
            // Valid JSON past a double's range: a type error in its column, not a syntax error.
            vec![p("type-error", "n", "1e999")],
            // A string column takes it as written.
            vec![p("constraint-error", "note", "1e999")],
        ]
    );
}
