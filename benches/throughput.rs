//! Input megabytes per second, end to end and per stage, on ~32 MB of CSV
//! (and ~32 MB of NDJSON) shaped like the orders benchmark data
//! (`/work/shared/bench/schema.json`, written by `gen.py`), generated here so
//! that the bench needs no files.
//!
//! - `pipeline/<budget>`: `Pipeline::run` from a memory-mapped CSV file to a
//!   Parquet file, at the Lambda memory sizes users pick, with every size
//!   derived from the budget as the CLI does. Before timing, one run per
//!   budget prints its plan and peak resident set, since staying inside the
//!   budget matters as much as speed.
//! - `pipeline_ndjson/<budget>`: the same over the same rows as NDJSON (the
//!   same byte count, so fewer rows: a JSON line is wider).
//! - `stages/decode`, `stages/encode`: one stage alone over the same data, cut
//!   at the 1,769 MB plan's chunk size, so a profile can tell the stages apart.
//!   Both count CSV input bytes, so their figures compare with the pipeline's.
//! - `stages/validate`: `Validator::check` over the decoded batches with every
//!   column constrained ([`CONSTRAINED`]) and no value breaking a constraint:
//!   the cost validation adds to a conversion, next to decode's.
//! - `stages/transform`: the [`TRANSFORMS`] pipeline steps (five derives, a
//!   filter, a rename) over the decoded batches: the cost transforms add.
//! - `expression/kernel`, `expression/compiled`: `amount * quantity` by
//!   arrow's `mul` kernel alone, and as a compiled expression over the
//!   batches; the two should cost about the same.
//!
//! `cargo bench --bench throughput -- --quick` for a fast look;
//! `cargo bench --bench throughput -- ndjson` for NDJSON alone.

use std::fmt::Write as _;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluicegate::decode::value::civil_from_days;
use sluicegate::decode::{CsvDecoder, Scratch};
use sluicegate::sink::ParquetSink;
use sluicegate::spec::{CsvOptions, Format, OnError, ParquetOptions, PipelineFile, Schema};
use sluicegate::split::{Chunk, Chunker, CsvSplitter};
use sluicegate::transform::expr::Expr;
use sluicegate::transform::Transforms;
use sluicegate::validate::Validator;
use sluicegate::{Budget, Pipeline, Source, Spec};

/// Size of the generated CSV, and of the NDJSON (bytes): large enough for
/// several chunks at every budget, small enough to keep a sample under a few
/// seconds.
const INPUT_BYTES: usize = 32_000_000;
/// Lambda memory sizes (MB): the smallest, a common one, one full vCPU, and
/// a two-vCPU size.
const BUDGETS_MB: [u64; 4] = [128, 512, 1769, 3008];
/// The budget whose chunk size the per-stage group cuts at (MB).
const STAGE_BUDGET_MB: u64 = 1769;

/// `schema.json` of the benchmark data, less its notes.
const SCHEMA: &str = r#"{"columns": [
    {"name": "event_id", "type": "int64", "nullable": false},
    {"name": "order_id", "type": "int64", "nullable": false},
    {"name": "customer_id", "type": "int64"},
    {"name": "quantity", "type": "uint32", "nullable": false},
    {"name": "amount", "type": "float64"},
    {"name": "unit_price", "type": "decimal(12,2)", "nullable": false},
    {"name": "event_ts", "type": "timestamp[ms, tz=UTC]", "nullable": false},
    {"name": "order_date", "type": "date32", "nullable": false},
    {"name": "is_gift", "type": "bool"},
    {"name": "category", "type": "string", "nullable": false},
    {"name": "country", "type": "string"},
    {"name": "email", "type": "string"},
    {"name": "note", "type": "string"},
    {"name": "discount", "type": "float64"}
]}"#;

/// [`SCHEMA`] with every column constrained, as tightly as the generated
/// data allows (so nothing is rejected): bounds on numbers, dates and
/// timestamps, lengths, patterns and enums on strings, an enum on the
/// booleans, and `required` on two columns that have no nulls (the other
/// nullable columns do have nulls, which `required` would reject).
const CONSTRAINED: &str = r#"{"columns": [
    {"name": "event_id", "type": "int64", "nullable": false, "constraints": {"required": true, "minimum": 1}},
    {"name": "order_id", "type": "int64", "nullable": false,
     "constraints": {"minimum": 10000000000, "maximum": 99999999999}},
    {"name": "customer_id", "type": "int64", "constraints": {"minimum": 1, "maximum": 5000000}},
    {"name": "quantity", "type": "uint32", "nullable": false, "constraints": {"minimum": 1}},
    {"name": "amount", "type": "float64", "constraints": {"minimum": 0}},
    {"name": "unit_price", "type": "decimal(12,2)", "nullable": false,
     "constraints": {"minimum": "0.01", "maximum": "9999999999.99"}},
    {"name": "event_ts", "type": "timestamp[ms, tz=UTC]", "nullable": false,
     "constraints": {"minimum": "2024-01-01T00:00:00Z", "maximum": "2025-01-01T00:00:00Z"}},
    {"name": "order_date", "type": "date32", "nullable": false,
     "constraints": {"minimum": "2024-01-01", "maximum": "2024-12-31"}},
    {"name": "is_gift", "type": "bool", "constraints": {"enum": [true, false]}},
    {"name": "category", "type": "string", "nullable": false, "constraints": {"required": true, "enum": [
        "electronics", "books", "toys", "garden", "kitchen", "sports", "beauty", "automotive", "grocery", "music",
        "movies", "office", "pet_supplies", "baby", "clothing", "shoes", "jewelry", "tools", "health", "furniture"]}},
    {"name": "country", "type": "string", "constraints": {"pattern": "[A-Z]{2}", "enum": [
        "US", "DE", "FR", "GB", "JP", "IN", "BR", "CA", "AU", "ES", "IT", "NL", "SE", "PL", "MX", "KR", "CN", "ZA",
        "NG", "AR", "CH", "AT", "BE", "DK", "FI", "NO", "IE", "PT", "NZ", "SG"]}},
    {"name": "email", "type": "string", "constraints": {"maxLength": 254, "pattern": "[^@\\s]+@[^@\\s]+\\.[a-z]+"}},
    {"name": "note", "type": "string", "constraints": {"minLength": 1, "maxLength": 500}},
    {"name": "discount", "type": "float64", "constraints": {"minimum": 0, "maximum": 1}}
]}"#;

fn throughput(c: &mut Criterion) {
    let schema = Schema::from_json(SCHEMA).expect("the bench schema is valid");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("orders.csv");
    let output = dir.path().join("orders.parquet");
    let csv = orders(INPUT_BYTES, Format::Csv);
    std::fs::write(&input, &csv).expect("writing the bench input");
    let bytes = csv.len() as u64;
    // Not held while the pipeline runs: it would count in the peak RSS.
    drop(csv);

    bench_pipeline(c, "pipeline", Spec::new(Some(schema.clone())), &input, &output, bytes);

    let ndjson_input = dir.path().join("orders.ndjson");
    let ndjson = orders(INPUT_BYTES, Format::Ndjson);
    std::fs::write(&ndjson_input, &ndjson).expect("writing the bench input");
    let ndjson_bytes = ndjson.len() as u64;
    drop(ndjson);
    let mut spec = Spec::new(Some(schema.clone()));
    spec.format = Format::Ndjson;
    bench_pipeline(c, "pipeline_ndjson", spec, &ndjson_input, &output, ndjson_bytes);

    // The stages read from memory: page faults belong to the pipeline's figure.
    let csv = std::fs::read(&input).expect("reading the bench input");
    let options = CsvOptions::default();
    let plan = Budget::new(STAGE_BUDGET_MB).plan().expect("a valid budget");
    let (header, chunks) = split(csv, &options, plan.chunk_bytes);
    let decoder = CsvDecoder::new(&schema, &options, Some(&header)).expect("the header matches the schema");
    let mut scratch = Scratch::default();
    let batches: Vec<_> = chunks.iter().map(|ch| decoder.decode(ch, &mut scratch).expect("valid data").batch).collect();
    // The sink only supplies the encoder (and deletes its empty file on drop).
    let (_sink, encoder) = ParquetSink::create(
        &output,
        decoder.arrow_schema().clone(),
        &ParquetOptions::default(),
        plan.row_group_rows,
        None,
    )
    .expect("creating the encoder");

    let mut group = c.benchmark_group("stages");
    group.sample_size(10).throughput(Throughput::Bytes(bytes));
    group.bench_function("decode", |b| {
        b.iter(|| {
            for chunk in &chunks {
                decoder.decode(chunk, &mut scratch).unwrap();
            }
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| {
            for batch in &batches {
                encoder.encode(batch).unwrap();
            }
        })
    });
    let constrained = Schema::from_json(CONSTRAINED).expect("the constrained schema is valid");
    let validator = Validator::new(&constrained).expect("the constraints compile");
    let mut violations = Vec::new();
    for batch in &batches {
        validator.check(batch, &mut violations);
    }
    assert_eq!(violations, [], "the generated data keeps to every constraint");
    group.bench_function("validate", |b| {
        b.iter(|| {
            for batch in &batches {
                validator.check(batch, &mut violations);
            }
        })
    });
    let file = PipelineFile::parse(TRANSFORMS, "bench", Path::new("")).expect("the bench pipeline parses");
    let steps = Transforms::compile(&file.spec.steps, decoder.arrow_schema().clone(), OnError::Reject)
        .expect("the bench pipeline compiles");
    group.bench_function("transform", |b| {
        b.iter(|| {
            for batch in &batches {
                steps.apply(batch.clone()).unwrap();
            }
        })
    });
    group.finish();

    let schema = decoder.arrow_schema();
    let product = Expr::compile("amount * quantity", schema).expect("the expression compiles");
    let (amount, quantity) = (schema.index_of("amount").unwrap(), schema.index_of("quantity").unwrap());
    // The kernel alone, on the same operands the expression promotes them to.
    let operands: Vec<_> = batches
        .iter()
        .map(|b| {
            let a = arrow_cast::cast(b.column(amount), product.data_type()).unwrap();
            let q = arrow_cast::cast(b.column(quantity), product.data_type()).unwrap();
            (a, q)
        })
        .collect();
    let mut group = c.benchmark_group("expression");
    group.sample_size(10).throughput(Throughput::Bytes(bytes));
    group.bench_function("kernel", |b| {
        b.iter(|| {
            for (a, q) in &operands {
                arrow_arith::numeric::mul(a, q).unwrap();
            }
        })
    });
    group.bench_function("compiled", |b| {
        b.iter(|| {
            for batch in &batches {
                product.evaluate(batch).unwrap();
            }
        })
    });
    group.finish();
}

/// The pipeline steps `stages/transform` applies.
const TRANSFORMS: &str = r#"
[[transform]]
filter = "amount > 0"
[[transform]]
derive = { total = "amount * quantity", net = "amount - discount", cc = "lower(country)", month = "date_trunc('month', order_date)", big = "amount > 100" }
[[transform]]
rename = { event_ts = "ts" }
"#;

/// `Pipeline::run` over `input` at every budget of [`BUDGETS_MB`].
fn bench_pipeline(c: &mut Criterion, name: &str, spec: Spec, input: &Path, output: &Path, bytes: u64) {
    let mut group = c.benchmark_group(name);
    group.sample_size(10).throughput(Throughput::Bytes(bytes));
    for mb in BUDGETS_MB {
        let plan = Budget::new(mb).plan().expect("a valid budget");
        let pipeline = Pipeline::new(spec.clone(), plan);
        report_memory(&pipeline, name, input, output, mb);
        group.bench_function(BenchmarkId::from_parameter(format!("{mb}MB")), |b| {
            b.iter(|| pipeline.run(Source::open(input).expect("opening the bench input"), output).unwrap())
        });
    }
    group.finish();
}

/// Runs once and prints the plan and the peak resident set against the
/// budget. The kernel's high-water mark is reset first, so the figure is this
/// run's alone (plus the bench process itself).
fn report_memory(pipeline: &Pipeline, name: &str, input: &Path, output: &Path, mb: u64) {
    // Writing 5 to clear_refs resets VmHWM (Linux 4.0 and later); elsewhere
    // the figure is the process's peak so far.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let report = pipeline.run(Source::open(input).expect("opening the bench input"), output).unwrap();
    let plan = pipeline.plan();
    eprintln!(
        "{name}/{mb}MB: {} threads, {} KiB chunks; {} rows, {:.0} MB/s, peak RSS {:.0} MB of {mb} MB",
        plan.threads,
        plan.chunk_bytes >> 10,
        report.rows_written,
        report.throughput_mb_s(),
        report.peak_rss_bytes as f64 / 1e6,
    );
}

/// The header's names and the data chunks, as the pipeline's reader cuts them.
fn split(csv: Vec<u8>, options: &CsvOptions, chunk_bytes: usize) -> (Vec<String>, Vec<Chunk>) {
    let mut chunker = Chunker::new(Source::from_bytes("orders", csv), CsvSplitter::new(options, chunk_bytes));
    let header = chunker.header().unwrap().expect("the bench data has a header");
    let names = CsvDecoder::header_names(options, &header).unwrap();
    let mut chunks = Vec::new();
    while let Some(chunk) = chunker.next().unwrap() {
        chunks.push(chunk);
    }
    (names, chunks)
}

// The values `gen.py` draws from.
const CATEGORIES: [&str; 20] = [
    "electronics",
    "books",
    "toys",
    "garden",
    "kitchen",
    "sports",
    "beauty",
    "automotive",
    "grocery",
    "music",
    "movies",
    "office",
    "pet_supplies",
    "baby",
    "clothing",
    "shoes",
    "jewelry",
    "tools",
    "health",
    "furniture",
];
const COUNTRIES: [&str; 30] = [
    "US", "DE", "FR", "GB", "JP", "IN", "BR", "CA", "AU", "ES", "IT", "NL", "SE", "PL", "MX", "KR", "CN", "ZA", "NG",
    "AR", "CH", "AT", "BE", "DK", "FI", "NO", "IE", "PT", "NZ", "SG",
];
// (suffix, offset in minutes, weight in percent), as gen.py draws them.
const ZONES: [(&str, i64, u64); 8] = [
    ("Z", 0, 35),
    ("+00:00", 0, 10),
    ("-05:00", -300, 15),
    ("-08:00", -480, 10),
    ("+01:00", 60, 10),
    ("+02:00", 120, 8),
    ("+05:30", 330, 7),
    ("+09:00", 540, 5),
];
const FIRST: [&str; 8] = ["anna", "ben", "carla", "dmitri", "eva", "farid", "gina", "hiro"];
const DOMAINS: [&str; 6] =
    ["example.com", "mail.example.org", "shop.test", "corp.example.net", "inbox.example", "post.test"];
const NOTE_A: [&str; 6] = [
    "Delivered on time",
    "Customer called twice",
    "Gift wrap requested",
    "Left at front door",
    "Box slightly dented",
    "Returned, refund pending",
];
const NOTE_B: [&str; 6] = [", thanks!", ", said \"great service\"", "", ", size \"XL\", colour blue", ", ok", ""];
const NOTE_C: [&str; 4] = ["", " Follow-up needed.", " Rated 5/5 (\"excellent\").", ""];
const NOTE_NL: &str = "\nP.S. second line of the note, with a comma";
const BASE_TS: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z, seconds
const TS_SPAN: u64 = 365 * 24 * 3600; // one year of events, seconds

/// Orders rows in the shape of `gen.py`'s data, about `target` bytes of
/// CSV (with a header) or NDJSON, the same on every run. The value mix
/// follows `gen.py`: 5% nulls in the nullable columns, 30% in `discount`;
/// timestamps in eight UTC offsets; notes with commas and double quotes, 1%
/// of them over two lines. NDJSON writes what `gen.py` does: every key,
/// nulls as `null`, `unit_price` and the dates as strings.
fn orders(target: usize, format: Format) -> Vec<u8> {
    let mut rng = SplitMix64(0x5eed);
    let mut out = String::with_capacity(target + 1024);
    if format == Format::Csv {
        out.push_str(
            "event_id,order_id,customer_id,quantity,amount,unit_price,event_ts,order_date,is_gift,category,country,\
             email,note,discount\n",
        );
    }
    let mut event_id = 1i64;
    let mut order = Order::default();
    while out.len() < target {
        order.draw(&mut rng, event_id);
        match format {
            Format::Csv => order.write_csv(&mut out),
            Format::Ndjson => order.write_ndjson(&mut out),
            Format::JsonArray => unreachable!("the benches write CSV and NDJSON"),
        }
        event_id += 1;
    }
    out.into_bytes()
}

/// One row of the orders data, its text fields already formatted.
#[derive(Default)]
struct Order {
    event_id: i64,
    order_id: i64,
    customer_id: Option<u64>,
    quantity: u64,
    amount: Option<f64>,
    unit_price: String,
    event_ts: String,
    order_date: String,
    is_gift: Option<bool>,
    category: &'static str,
    country: Option<&'static str>,
    email: Option<String>,
    note: Option<String>,
    discount: Option<f64>,
}

impl Order {
    /// Draws the next row, in the order the random numbers have always been
    /// drawn, so that the CSV stays byte for byte what earlier runs measured.
    fn draw(&mut self, r: &mut SplitMix64, event_id: i64) {
        self.event_id = event_id;
        self.order_id = 10_000_000_000 + event_id / 3 * 7 + r.below(7) as i64;
        // Geometric(0.35), capped at 500, and 0.1% bulk orders over 2^31.
        self.quantity = if r.chance(0.001) {
            (1u64 << 31) + r.below((1 << 31) - 1)
        } else {
            let mut q = 1;
            while q < 500 && !r.chance(0.35) {
                q += 1;
            }
            q
        };
        // Log-normal(7, 1.2) cents, as gen.py.
        let cents = (7.0 + 1.2 * r.normal()).exp().round() as u64 + 1;
        let amount = (self.quantity as f64 * cents as f64 / 100.0 * (0.8 + 0.2 * r.unit()) * 1e4).round() / 1e4;
        let utc = BASE_TS + r.below(TS_SPAN) as i64;
        let millis = r.below(1000);
        let (zone, offset_min) = {
            let mut pick = r.below(100);
            let mut zone = ZONES[0];
            for z in ZONES {
                if pick < z.2 {
                    zone = z;
                    break;
                }
                pick -= z.2;
            }
            (zone.0, zone.1)
        };
        let local = utc + offset_min * 60;
        let (ly, lm, ld) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        let (uy, um, ud) = civil_from_days(utc.div_euclid(86_400));
        // A Zipf-like skew over categories: the first few dominate.
        self.category = CATEGORIES[((r.unit().powi(3)) * CATEGORIES.len() as f64) as usize];

        self.unit_price.clear();
        let _ = write!(self.unit_price, "{}.{:02}", cents / 100, cents % 100);
        self.event_ts.clear();
        let _ = write!(
            self.event_ts,
            "{ly:04}-{lm:02}-{ld:02}T{:02}:{:02}:{:02}.{millis:03}{zone}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
        );
        self.order_date.clear();
        let _ = write!(self.order_date, "{uy:04}-{um:02}-{ud:02}");
        self.customer_id = (!r.chance(0.05)).then(|| 1 + r.below(4_999_999));
        self.amount = (!r.chance(0.05)).then_some(amount);
        self.is_gift = (!r.chance(0.05)).then(|| r.chance(0.12));
        self.country = (!r.chance(0.05)).then(|| r.pick(&COUNTRIES));
        self.email =
            (!r.chance(0.05)).then(|| format!("{}.{}@{}", r.pick(&FIRST), 1 + r.below(99_999), r.pick(&DOMAINS)));
        self.note = (!r.chance(0.05)).then(|| {
            let mut note = String::new();
            note.push_str(r.pick(&NOTE_A));
            note.push_str(r.pick(&NOTE_B));
            note.push_str(r.pick(&NOTE_C));
            if r.chance(0.01) {
                note.push_str(NOTE_NL);
            }
            note
        });
        self.discount = (!r.chance(0.30)).then(|| (r.unit() * 0.5 * 1e3).round() / 1e3);
    }

    fn write_csv(&self, out: &mut String) {
        let _ = write!(out, "{},{},", self.event_id, self.order_id);
        if let Some(v) = self.customer_id {
            let _ = write!(out, "{v}");
        }
        let _ = write!(out, ",{},", self.quantity);
        if let Some(v) = self.amount {
            let _ = write!(out, "{v}");
        }
        let _ = write!(out, ",{},{},{},", self.unit_price, self.event_ts, self.order_date);
        if let Some(v) = self.is_gift {
            out.push_str(if v { "true" } else { "false" });
        }
        let _ = write!(out, ",{},", self.category);
        out.push_str(self.country.unwrap_or(""));
        out.push(',');
        out.push_str(self.email.as_deref().unwrap_or(""));
        out.push(',');
        if let Some(note) = &self.note {
            // RFC 4180, minimal quoting: as polars writes it.
            if note.contains([',', '"', '\n']) {
                let _ = write!(out, "\"{}\"", note.replace('"', "\"\""));
            } else {
                out.push_str(note);
            }
        }
        out.push(',');
        if let Some(v) = self.discount {
            let _ = write!(out, "{v}");
        }
        out.push('\n');
    }

    fn write_ndjson(&self, out: &mut String) {
        fn opt<T: std::fmt::Display>(out: &mut String, v: Option<T>) {
            match v {
                Some(v) => {
                    let _ = write!(out, "{v}");
                }
                None => out.push_str("null"),
            }
        }
        fn text(out: &mut String, v: Option<&str>) {
            let Some(v) = v else { return out.push_str("null") };
            out.push('"');
            for ch in v.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        let _ = write!(out, "{{\"event_id\":{},\"order_id\":{},\"customer_id\":", self.event_id, self.order_id);
        opt(out, self.customer_id);
        let _ = write!(out, ",\"quantity\":{},\"amount\":", self.quantity);
        opt(out, self.amount);
        let _ = write!(
            out,
            ",\"unit_price\":\"{}\",\"event_ts\":\"{}\",\"order_date\":\"{}\",\"is_gift\":",
            self.unit_price, self.event_ts, self.order_date
        );
        opt(out, self.is_gift);
        let _ = write!(out, ",\"category\":\"{}\",\"country\":", self.category);
        text(out, self.country);
        out.push_str(",\"email\":");
        text(out, self.email.as_deref());
        out.push_str(",\"note\":");
        text(out, self.note.as_deref());
        out.push_str(",\"discount\":");
        opt(out, self.discount);
        out.push_str("}\n");
    }
}

/// A small deterministic generator (SplitMix64): the data must be the same on
/// every run and machine, and the bench should not pull in `rand` for it.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a>(&mut self, values: &[&'a str]) -> &'a str {
        values[self.below(values.len() as u64) as usize]
    }

    /// Standard normal, by Box-Muller.
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit(); // (0, 1]: the logarithm stays finite
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
