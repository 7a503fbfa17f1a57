//! `infer` on tricky samples: the schema it writes converts the input, under
//! every strategy.

use std::io::Write;

use sluicegate::infer::{infer, InferOptions, Inferred, LineEnding};
use sluicegate::spec::{type_name, Format};
use sluicegate::Source;

use crate::util::Case;

fn infer_bytes(name: &str, data: &[u8], options: &InferOptions) -> Inferred {
    infer(Source::from_bytes(name, data.to_vec()), options).unwrap_or_else(|e| panic!("infer: {e}"))
}

fn types(i: &Inferred) -> Vec<(String, String)> {
    i.schema.columns.iter().map(|c| (c.name.clone(), type_name(&c.data_type))).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

/// A conversion with the schema file and the dialect `infer` gave.
fn case(data: &[u8], inferred: &Inferred) -> Case {
    let mut case = match inferred.format {
        Format::Csv => Case::new(data, &inferred.to_json()),
        Format::Ndjson => Case::ndjson(data, &inferred.to_json()),
        Format::JsonArray => Case::json_array(data, &inferred.to_json()),
    };
    if let Some(d) = &inferred.csv {
        case.options = d.options.clone();
    }
    case
}

#[test]
fn a_semicolon_file_with_crlf_quotes_and_nulls_converts_as_inferred() {
    let csv = "id;code;price;ratio;paid;at;local;day;big;note\r\n\
               1;007;12.50;0.5;yes;2024-05-01T10:00:00.123Z;2024-05-01 10:00;2024-05-01;18446744073709551615;\"a; b\"\r\n\
               2;010;;1e3;no;2024-05-01T10:00:00+05:30;2024-05-01T10:00:00.5;2024-02-29;1;\"two\r\nlines\"\r\n\
               ;123;-3.05;;;2024-05-01T10:00:00-08:00;;;;\"say \"\"hi\"\"\"\r\n";
    let inferred = infer_bytes("x.csv", csv.as_bytes(), &InferOptions::default());
    assert_eq!(
        types(&inferred),
        pairs(&[
            ("id", "int64"),
            ("code", "string"),
            ("price", "decimal(12,2)"),
            ("ratio", "float64"),
            ("paid", "bool"),
            ("at", "timestamp[ms, tz=UTC]"),
            ("local", "timestamp[ms]"),
            ("day", "date32"),
            ("big", "uint64"),
            ("note", "string"),
        ])
    );
    let nullable: Vec<bool> = inferred.schema.columns.iter().map(|c| c.nullable).collect();
    assert_eq!(nullable, [true, false, true, true, true, false, true, true, true, false]);
    let dialect = inferred.csv.as_ref().unwrap();
    assert_eq!((dialect.options.delimiter, dialect.options.has_header), (b';', true));
    assert_eq!(dialect.line_ending, LineEnding::Crlf);
    assert_eq!(inferred.convert_flags(), ["--delimiter", ";"]);
    let batch = case(csv.as_bytes(), &inferred).converts();
    assert_eq!(batch.num_rows(), 3);
}

#[test]
fn a_tab_file_without_a_header() {
    let tsv = "1\t2024-01-01\tred\n2\t2024-01-02\tblue\n3\t\tgreen\n";
    let inferred = infer_bytes("x.tsv", tsv.as_bytes(), &InferOptions::default());
    assert_eq!(types(&inferred), pairs(&[("column_1", "int64"), ("column_2", "date32"), ("column_3", "string")]));
    assert_eq!(inferred.convert_flags(), ["--delimiter", "\\t", "--no-header"]);
    assert_eq!(case(tsv.as_bytes(), &inferred).converts().num_rows(), 3);
}

#[test]
fn null_markers_count_as_nulls() {
    let csv = "a,b\n1,NA\nNA,x\n2,\n";
    let options = InferOptions { null_markers: vec!["NA".into()], ..InferOptions::default() };
    let inferred = infer_bytes("x.csv", csv.as_bytes(), &options);
    assert_eq!(types(&inferred), pairs(&[("a", "int64"), ("b", "string")]));
    assert_eq!(inferred.convert_flags(), ["--null", "NA"]);
    let batch = case(csv.as_bytes(), &inferred).converts();
    assert_eq!(batch.column(0).null_count(), 1);
}

#[test]
fn ndjson_with_nested_values_converts_as_inferred() {
    let text = concat!(
        r#"{"id": 1, "price": "12.50", "at": "2024-05-01T10:00:00Z", "tags": ["a", "b"], "addr": {"city": "Oslo", "zip": 150}}"#,
        "\n",
        r#"{"id": 2, "price": "0.99", "at": "2024-05-01T10:00:00.5+02:00", "tags": [], "addr": null, "ok": true}"#,
        "\n",
        r#"{"id": 3, "price": null, "at": "2024-05-01T10:00:00-08:00", "items": [{"sku": "x", "qty": 2.5}], "ok": false}"#,
        "\n",
    );
    let inferred =
        infer_bytes("x.ndjson", text.as_bytes(), &InferOptions { format: Format::Ndjson, ..Default::default() });
    assert_eq!(
        types(&inferred),
        pairs(&[
            ("id", "int64"),
            ("price", "decimal(12,2)"),
            ("at", "timestamp[ms, tz=UTC]"),
            ("tags", "list<string>"),
            ("addr", "struct<city: string, zip: int64>"),
            ("ok", "bool"),
            ("items", "list<struct<sku: string, qty: float64>>"),
        ])
    );
    assert!(inferred.convert_flags().is_empty());
    assert_eq!(case(text.as_bytes(), &inferred).converts().num_rows(), 3);
}

#[test]
fn a_gzip_stream_is_sampled_from_its_start() {
    let csv = "a,b\n1,x\n2,y\n";
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(csv.as_bytes()).unwrap();
    let source = Source::from_reader("x.csv.gz", std::io::Cursor::new(enc.finish().unwrap())).unwrap();
    let inferred = infer(source, &InferOptions::default()).unwrap();
    assert_eq!(types(&inferred), pairs(&[("a", "int64"), ("b", "string")]));
    assert!(inferred.whole_input);
    assert!(!inferred.schema.columns[0].nullable);
}

/// A small deterministic generator (xorshift64*), so the test needs no data file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// `Some(v)` but about 1 time in 20, as in the benchmark data.
    fn maybe(&mut self, v: String) -> String {
        if self.below(20) == 0 {
            String::new()
        } else {
            v
        }
    }
}

/// Orders in the shape of the benchmark data (tests/e2e/orders.py): RFC 4180
/// minimal quoting, nulls as empty fields, notes with commas, doubled quotes
/// and embedded newlines, timestamps with milliseconds and offsets.
fn orders_csv(rows: u64) -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let offsets = ["Z", "+00:00", "-05:00", "-08:00", "+01:00", "+02:00", "+05:30", "+09:00"];
    let notes = ["Delivered on time", "Gift wrap requested, \"\"urgent\"\"", "Box dented, thanks!", "café \"\"Zoë\"\""];
    let mut out = String::from(
        "event_id,order_id,customer_id,quantity,amount,unit_price,event_ts,order_date,is_gift,category,country,email,note,discount\n",
    );
    for id in 1..=rows {
        let quantity = if rng.below(100) == 0 { 2_147_483_648 + rng.below(1 << 31) } else { 1 + rng.below(12) };
        let cents = 1 + rng.below(400_000);
        let amount = format!("{}.{}", cents * quantity.min(500) / 100, rng.below(10_000));
        let (month, day) = (1 + rng.below(12), 1 + rng.below(28));
        let ts = format!(
            "2024-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}{}",
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.below(1000),
            rng.pick(&offsets)
        );
        let mut note = rng.pick(&notes).to_string();
        if rng.below(50) == 0 {
            note += "\nP.S. second line, with a comma";
        }
        let note = if note.contains([',', '"', '\n']) { format!("\"{note}\"") } else { note };
        let discount = if rng.below(10) < 3 { String::new() } else { format!("0.{}", rng.below(500)) };
        let customer = (1 + rng.below(5_000_000)).to_string();
        let customer = rng.maybe(customer);
        let amount = rng.maybe(amount);
        let gift = rng.pick(&["true", "false", "false"]).to_string();
        let gift = rng.maybe(gift);
        let country = rng.pick(&["US", "DE", "NO", "JP"]).to_string();
        let country = rng.maybe(country);
        let email = format!("anna.{}@example.com", rng.below(100_000));
        let email = rng.maybe(email);
        let note = rng.maybe(note);
        let fields = [
            id.to_string(),
            (10_000_000_000 + id / 3 * 7 + rng.below(7)).to_string(),
            customer,
            quantity.to_string(),
            amount,
            format!("{}.{:02}", cents / 100, cents % 100),
            ts,
            format!("2024-{month:02}-{day:02}"),
            gift,
            rng.pick(&["books", "toys", "garden", "kitchen"]).to_string(),
            country,
            email,
            note,
            discount,
        ];
        out += &fields.join(",");
        out.push('\n');
    }
    out
}

/// The issue's acceptance check: the types of `../shared/bench/schema.json`
/// (copied here), except that the data cannot tell uint32 from int64.
#[test]
fn orders_data_recovers_the_benchmark_types() {
    let csv = orders_csv(4000);
    // Small enough that the file is sampled in five places, not read whole.
    let options = InferOptions { sample_bytes: 320 << 10, ..InferOptions::default() };
    assert!(csv.len() > options.sample_bytes);
    let inferred = infer_bytes("orders.csv", csv.as_bytes(), &options);
    assert_eq!(inferred.places, 5);
    assert!(!inferred.whole_input);
    let expected = [
        ("event_id", "int64"),
        ("order_id", "int64"),
        ("customer_id", "int64"),
        ("quantity", "uint32"),
        ("amount", "float64"),
        ("unit_price", "decimal(12,2)"),
        ("event_ts", "timestamp[ms, tz=UTC]"),
        ("order_date", "date32"),
        ("is_gift", "bool"),
        ("category", "string"),
        ("country", "string"),
        ("email", "string"),
        ("note", "string"),
        ("discount", "float64"),
    ];
    let got = types(&inferred);
    assert_eq!(got.len(), expected.len());
    for ((name, t), (want_name, want)) in got.iter().zip(expected) {
        assert_eq!(name, want_name);
        let ok = t == want || (want == "uint32" && t == "int64");
        assert!(ok, "column {name}: inferred {t}, the benchmark says {want}");
    }
    assert!(inferred.schema.columns.iter().all(|c| c.nullable), "a partial sample cannot rule nulls out");
    assert_eq!(case(csv.as_bytes(), &inferred).converts().num_rows(), 4000);
}
