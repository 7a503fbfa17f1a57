//! Transforms, routes and directory outputs, through the pipeline.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use sluicegate::pipeline::Stage;
use sluicegate::spec::{OnError, PipelineFile, Schema};
use sluicegate::{Budget, Pipeline, Source};

use crate::util::{read_parquet, Case};

const ORDERS: &str = include_str!("../testdata/orders_sample.csv");
const ORDERS_SCHEMA: &str = include_str!("../testdata/orders_sample.schema.json");

const SMALL: &str = r#"{"columns": [
    {"name": "id", "type": "int64", "nullable": false},
    {"name": "amount", "type": "float64"},
    {"name": "qty", "type": "int64"},
    {"name": "country", "type": "string"},
    {"name": "code", "type": "string"}]}"#;

fn small() -> String {
    let mut csv = String::from("id,amount,qty,country,code\n");
    for i in 0..40 {
        let country = ["FR", "DE", "", "US"][i % 4];
        let code = if i % 13 == 5 { "x".to_string() } else { (i * 7).to_string() };
        csv += &format!("{i},{}.5,{},{country},{code}\n", i * 10, i % 3);
    }
    csv
}

fn ids(batch: &RecordBatch) -> Vec<i64> {
    batch.column_by_name("id").unwrap().as_primitive::<Int64Type>().values().to_vec()
}

#[test]
fn select_drop_rename_cast_and_fill_null_shape_the_output() {
    let batch = Case::new(small(), SMALL)
        .transformed(
            r#"
[[transform]]
drop = ["qty"]
[[transform]]
rename = { country = "cc", amount = "price" }
[[transform]]
fill_null = { cc = "ZZ" }
[[transform]]
cast = { price = "decimal(10,1)", id = "string" }
[[transform]]
select = ["cc", "id", "price"]
"#,
        )
        .converts();
    let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["cc", "id", "price"]);
    let cc = batch.column(0).as_string::<i32>();
    assert_eq!(cc.value(2), "ZZ");
    assert_eq!(cc.value(0), "FR");
    assert_eq!(cc.null_count(), 0);
    assert_eq!(batch.column(1).as_string::<i32>().value(7), "7");
    let price = batch.column(2).as_primitive::<arrow_array::types::Decimal128Type>();
    assert_eq!(price.value(3), 305); // 30.5 at scale 1
}

#[test]
fn a_cast_that_does_not_parse_rejects_the_row_with_its_place() {
    let case = Case::new(small(), SMALL).transformed("[[transform]]\ncast = { code = \"int64\" }\n");
    let (batch, rejects) = case.rejects();
    assert_eq!(batch.num_rows(), 37);
    assert_eq!(rejects.len(), 3, "{rejects:?}");
    let first = &rejects[0];
    assert_eq!(first["line"], 7, "{first}");
    assert_eq!(first["record"], 5);
    assert_eq!(first["problems"][0]["code"], "transform-error", "{first}");
    assert_eq!(first["problems"][0]["column"], "code");
    assert_eq!(first["problems"][0]["value"], "x");
    assert_eq!(first["raw"], "5,50.5,2,DE,x");

    // Under the fail policy the first such row stops the run, at its line.
    let message = case.clone().on(OnError::Fail).fails();
    assert!(
        message.contains("line 7") && message.contains("transform-error") || message.contains("cast code"),
        "{message}"
    );

    // Under the null policy the value is null and the row stays.
    let batch = case.on(OnError::Null).converts();
    assert_eq!(batch.num_rows(), 40);
    assert_eq!(batch.column_by_name("code").unwrap().null_count(), 3);
}

#[test]
fn under_the_fail_policy_the_first_bad_row_in_input_order_stops_the_run() {
    // Record 1 breaks a transform; record 3 does not decode. Record 1 wins,
    // whatever the chunking.
    let csv = "id,amount,qty,country,code\n0,1,1,FR,1\n1,1,1,FR,x\n2,1,1,FR,2\n3,oops,1,FR,3\n";
    let message = Case::new(csv, SMALL).transformed("[[transform]]\ncast = { code = \"int64\" }\n").fails();
    assert!(message.starts_with("case:line 3,"), "{message}");
    let csv = "id,amount,qty,country,code\n0,1,1,FR,1\n1,oops,1,FR,1\n2,1,1,FR,x\n";
    let message = Case::new(csv, SMALL).transformed("[[transform]]\ncast = { code = \"int64\" }\n").fails();
    assert!(message.starts_with("case:line 3,") && message.contains("float64"), "{message}");
}

#[test]
fn filters_count_the_rows_they_remove() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(
        r#"
[[transform]]
filter = "country = 'FR'"
"#,
    );
    let out = dir.path().join("out.parquet");
    let report = run(&file, small(), &out);
    assert_eq!((report.rows_read, report.rows_written, report.rows_filtered), (40, 10, 30));
    let batch = read_parquet(&out);
    assert!(ids(&batch).iter().all(|i| i % 4 == 0));
}

#[test]
fn derived_columns_see_earlier_ones_and_replace_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(
        r#"
[[transform]]
derive = { total = "amount * qty", amount = "total + 1" }
"#,
    );
    let out = dir.path().join("out.parquet");
    run(&file, small(), &out);
    let batch = read_parquet(&out);
    let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["id", "amount", "qty", "country", "code", "total"]);
    let total = batch.column_by_name("total").unwrap().as_primitive::<Float64Type>();
    let amount = batch.column_by_name("amount").unwrap().as_primitive::<Float64Type>();
    assert_eq!(total.value(4), 40.5 * 1.0);
    assert_eq!(amount.value(4), 41.5);
}

#[test]
fn routes_send_each_row_to_its_first_match_and_partitions_lay_out_hive_paths() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file(
        r#"
[[transform]]
filter = "id < 36"
[output]
partition_by = ["country"]
[[route]]
name = "big"
when = "amount >= 200"
[[route.transform]]
select = ["id", "country"]
[[route]]
name = "fr"
when = "country = 'FR'"
[[route]]
name = "rest"
else = true
"#,
    );
    let out = dir.path().join("out");
    let report = run(&file, small(), &out);
    assert_eq!(report.rows_read, 40);
    assert_eq!(report.rows_filtered, 4);
    assert_eq!(report.rows_written, 36);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("_manifest.json")).unwrap()).unwrap();
    let mut by_route: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut files = 0;
    for f in manifest["files"].as_array().unwrap() {
        let path = out.join(f["path"].as_str().unwrap());
        let batch = read_parquet(&path);
        assert_eq!(f["rows"], batch.num_rows() as u64);
        assert!(batch.column_by_name("country").is_none(), "partition columns stay in the path");
        let route = f["route"].as_str().unwrap();
        assert!(f["path"].as_str().unwrap().starts_with(&format!("{route}/country=")), "{f}");
        by_route.entry(route.to_string()).or_default().extend(ids(&batch));
        files += 1;
    }
    assert_eq!(report.files, files);
    let mut big = by_route["big"].clone();
    big.sort_unstable();
    assert_eq!(big, (20..36).collect::<Vec<_>>());
    assert!(by_route["fr"].iter().all(|i| i % 4 == 0 && *i < 20));
    assert_eq!(by_route.values().map(Vec::len).sum::<usize>(), 36);
    assert!(out.join("rest/country=__HIVE_DEFAULT_PARTITION__").is_dir());

    // The same input again writes the same names, and nothing more.
    let before = listing(&out);
    run(&file, small(), &out);
    assert_eq!(listing(&out), before);
}

#[test]
fn past_the_open_file_limit_partitions_roll_to_new_parts_and_lose_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file("[output]\npartition_by = [\"qty\"]\n");
    let mut csv = String::from("id,amount,qty,country,code\n");
    for i in 0..3000 {
        csv += &format!("{i},1.0,{},FR,1\n", (i * 7919) % 50);
    }
    let out = dir.path().join("out");
    let mut plan = Budget::new(128).threads(2).chunk_bytes(2000).partitioned(true).plan().unwrap();
    plan.open_files = 4;
    plan.partition_buffer_bytes = 20_000;
    let report =
        Pipeline::new(file.spec.clone(), plan).run(Source::from_bytes("many", csv.into_bytes()), &out).unwrap();
    assert_eq!(report.rows_written, 3000);
    assert!(report.files > 50, "{} files", report.files);
    let mut seen = Vec::new();
    for entry in walk(&out).into_iter().filter(|p| p.extension().is_some_and(|e| e == "parquet")) {
        let qty: i64 = entry.parent().unwrap().file_name().unwrap().to_str().unwrap()[4..].parse().unwrap();
        let batch = read_parquet(&entry);
        for id in ids(&batch) {
            assert_eq!((id * 7919) % 50, qty);
            seen.push(id);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..3000).collect::<Vec<_>>());
}

#[test]
fn rolling_output_starts_a_new_file_past_max_file_mb() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline_file("[output]\nmax_file_mb = 0.001\n");
    let out = dir.path().join("out");
    let mut plan = Budget::new(128).threads(1).chunk_bytes(300).plan().unwrap();
    plan.row_group_rows = 5;
    let report =
        Pipeline::new(file.spec.clone(), plan).run(Source::from_bytes("roll", small().into_bytes()), &out).unwrap();
    assert!(report.files > 1, "{} files", report.files);
    let total: usize = walk(&out)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| read_parquet(p).num_rows())
        .sum();
    assert_eq!(total, 40);
}

#[test]
fn a_failed_run_leaves_no_file_in_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut file =
        pipeline_file("[output]\npartition_by = [\"country\"]\n[[transform]]\ncast = { code = \"int64\" }\n");
    file.spec.on_error = OnError::Fail;
    let out = dir.path().join("out");
    let plan = Budget::new(128).threads(1).chunk_bytes(100).plan().unwrap();
    let err = Pipeline::new(file.spec.clone(), plan).run(Source::from_bytes("bad", small().into_bytes()), &out);
    assert!(err.is_err());
    let left: Vec<_> = walk(&out).into_iter().filter(|p| p.is_file()).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn compiling_reports_every_mistake_at_its_place() {
    let text = r#"[input]
format = "csv"
[[transform]]
select = ["id", "nope"]
[[transform]]
derive = { x = "amount +" }
[[route]]
name = "a"
when = "qty"
[[route]]
name = "b"
else = true
[output]
partition_by = ["zz"]
"#;
    let mut file = PipelineFile::parse(text, "p", Path::new("")).unwrap();
    file.spec.schema = Some(Schema::from_json(SMALL).unwrap());
    let arrow = file.spec.schema.as_ref().unwrap().arrow();
    let found = Stage::compile(&file.spec, &arrow).unwrap_err();
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(shown[0].starts_with("3:1: select: no column \"nope\""), "{shown:?}");
    // The steps after a broken one are not compiled (they would only repeat it).
    assert_eq!(shown.len(), 1, "{shown:?}");

    let text = text.replace("\"nope\"", "\"qty\", \"amount\"");
    let mut file = PipelineFile::parse(&text, "p", Path::new("")).unwrap();
    file.spec.schema = Some(Schema::from_json(SMALL).unwrap());
    let found = Stage::compile(&file.spec, &arrow).unwrap_err();
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(shown[0].starts_with("6:25: \"amount +\": syntax error"), "{shown:?}");

    let text = text.replace("amount +", "amount + 1");
    let mut file = PipelineFile::parse(&text, "p", Path::new("")).unwrap();
    file.spec.schema = Some(Schema::from_json(SMALL).unwrap());
    let found = Stage::compile(&file.spec, &arrow).unwrap_err();
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(shown[0].starts_with("9:9: route \"a\": `when` gives int64, not a boolean"), "{shown:?}");
    assert_eq!(shown.len(), 1, "{shown:?}");

    let text = text.replace("when = \"qty\"", "when = \"qty > 1\"");
    let mut file = PipelineFile::parse(&text, "p", Path::new("")).unwrap();
    file.spec.schema = Some(Schema::from_json(SMALL).unwrap());
    let found = Stage::compile(&file.spec, &arrow).unwrap_err();
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.iter().all(|s| s.contains("partition_by: no column \"zz\"")), "{shown:?}");
}

#[test]
fn the_orders_sample_takes_the_example_pipeline() {
    let file =
        PipelineFile::from_path(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/orders.pipeline.toml")))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let plan = Budget::new(128).partitioned(true).plan().unwrap();
    let report = Pipeline::new(file.spec.clone(), plan)
        .run(Source::from_bytes("orders_sample.csv", ORDERS.as_bytes().to_vec()), &out)
        .unwrap();
    assert_eq!(report.rows_read, 50);
    assert_eq!(
        report.rows_read,
        report.rows_written + report.rows_rejected + report.rows_filtered + report.rows_unrouted
    );
    assert!(report.rows_written > 0);
    let _ = ORDERS_SCHEMA;
}

fn pipeline_file(transforms: &str) -> PipelineFile {
    let mut file = PipelineFile::parse(transforms, "test", Path::new("")).unwrap_or_else(|f| panic!("{f:?}"));
    file.spec.schema = Some(Schema::from_json(SMALL).unwrap());
    file.spec.on_error = OnError::Reject;
    file
}

fn run(file: &PipelineFile, csv: String, out: &Path) -> sluicegate::Report {
    let plan = Budget::new(128).threads(2).chunk_bytes(300).partitioned(file.spec.is_partitioned()).plan().unwrap();
    Pipeline::new(file.spec.clone(), plan).run(Source::from_bytes("small.csv", csv.into_bytes()), out).unwrap()
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

fn listing(root: &Path) -> Vec<String> {
    walk(root).iter().map(|p| p.strip_prefix(root).unwrap().display().to_string()).collect()
}

#[test]
fn inputs_sharing_a_directory_are_all_in_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let file = PipelineFile::parse("[output]\npartition_by = [\"country\"]\n", "t", Path::new("")).unwrap();
    let out = dir.path().join("out");
    let plan = || Budget::new(128).threads(2).chunk_bytes(300).partitioned(true).plan().unwrap();
    for name in ["a.csv", "b.csv", "a.csv"] {
        Pipeline::new(file.spec.clone(), plan()).run(Source::from_bytes(name, small().into_bytes()), &out).unwrap();
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("_manifest.json")).unwrap()).unwrap();
    let sources: Vec<&str> =
        manifest["inputs"].as_array().unwrap().iter().map(|i| i["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["a.csv", "b.csv"]);
    let listed: Vec<String> =
        manifest["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().into()).collect();
    let mut on_disk: Vec<String> = listing(&out).into_iter().filter(|p| p.ends_with(".parquet")).collect();
    on_disk.sort();
    assert_eq!(listed, on_disk);
    assert_eq!(manifest["rows"], 80);
}
