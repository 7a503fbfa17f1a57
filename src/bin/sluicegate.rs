//! The `sluicegate` command line: parsed flags, then a resolved plan that
//! builds the engine. Wiring only.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use sluicegate::infer::InferOptions;
use sluicegate::pipeline::Stage;
use sluicegate::spec::{describe, type_name, Compression, Format, PipelineFile, Schema};
use sluicegate::{Budget, Pipeline, Source, Spec};

/// Turns large CSV and JSON files into Parquet, fast, inside a fixed memory budget.
#[derive(Parser)]
#[command(name = "sluicegate", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a CSV, NDJSON or JSON array file (plain, gzip or zstd; `-` for stdin) to Parquet.
    Convert(Box<ConvertArgs>),
    /// Check a CSV, NDJSON or JSON array file against a schema without writing anything;
    /// exit code 0 when every row is good, 1 when not.
    Validate(Box<ValidateArgs>),
    /// Print the plan a memory budget gives (threads, chunk size, queues).
    Plan(BudgetArgs),
    /// Compile a pipeline file against its schema and report every problem
    /// (unknown column, type mismatch, bad expression) with its place in the
    /// file, before any data is read; exit code 1 when there is one.
    Check(CheckArgs),
    /// Infer a schema file that `convert --schema` takes from a sample of the
    /// input: the start, three places in the middle and the end of a file (the
    /// first bytes of a stream). Detects the CSV dialect (delimiter, header,
    /// line ending) and each column's type and nullability; prints the
    /// `convert` flags the dialect needs on stderr.
    Infer(InferArgs),
}

#[derive(Args)]
struct InferArgs {
    /// Input file; `-` reads standard input. gzip and zstd are detected.
    input: PathBuf,
    /// Input format: csv, ndjson (also jsonl) or json-array (also json)
    /// [default: from the file name, also under .gz or .zst: .ndjson and
    /// .jsonl are NDJSON, .json a JSON array, anything else CSV].
    #[arg(short, long)]
    format: Option<String>,
    /// Write the schema file here instead of to stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Bytes to sample, over all the places sampled.
    #[arg(long, value_name = "BYTES", default_value_t = sluicegate::infer::DEFAULT_SAMPLE_BYTES)]
    sample_bytes: usize,
    /// Records to sample at most, over all the places sampled.
    #[arg(long, value_name = "ROWS", default_value_t = sluicegate::infer::DEFAULT_SAMPLE_ROWS)]
    sample_rows: usize,
    /// CSV field delimiter (one byte; `\t` for tab) [default: detected among , ; tab |].
    #[arg(long)]
    delimiter: Option<String>,
    /// Whether the first CSV line is a header.
    #[arg(long, value_name = "auto|yes|no", default_value = "auto")]
    header: String,
    /// A CSV field text read as null, as `convert --null` takes it; repeat for
    /// several (default: the empty field).
    #[arg(long = "null", value_name = "MARKER")]
    null_markers: Vec<String>,
    /// Print nothing on stderr on success.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// The pipeline file (TOML).
    #[arg(short, long, value_name = "FILE")]
    pipeline: PathBuf,
    /// Schema file, in place of the pipeline file's.
    #[arg(short, long)]
    schema: Option<PathBuf>,
}

#[derive(Args)]
struct InputArgs {
    /// Input file; `-` reads standard input. gzip and zstd are detected.
    input: PathBuf,
    /// Endpoint of an S3-compatible store for s3:// inputs and outputs
    /// [default: AWS_ENDPOINT_URL, else AWS S3].
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// Pipeline file (TOML): input options, schema, transforms, routes,
    /// output layout, error policy and budget. Flags given here override it.
    #[arg(short, long, value_name = "FILE")]
    pipeline: Option<PathBuf>,
    /// Input format: csv, ndjson (also jsonl) or json-array (also json)
    /// [default: from the file name, also under .gz or .zst: .ndjson and
    /// .jsonl are NDJSON, .json a JSON array, anything else CSV].
    #[arg(short, long)]
    format: Option<String>,
    /// Schema file (JSON: {"columns": [{"name", "type", "nullable"}]}). Without
    /// one, every column is a nullable string named by the header.
    #[arg(short, long)]
    schema: Option<PathBuf>,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    json: JsonArgs,
}

impl InputArgs {
    /// Whether the input is an `s3://` object.
    fn is_object(&self) -> bool {
        self.input.to_string_lossy().starts_with("s3://")
    }

    /// The input: a file, `-` for standard input, or an `s3://bucket/key`
    /// object read in ranged GETs as the plan sizes them.
    fn source(&self, plan: &sluicegate::Plan) -> anyhow::Result<Source> {
        let name = self.input.to_string_lossy();
        if let Some(url) = object_url(&name)? {
            #[cfg(feature = "aws")]
            return Ok(Source::open_object(&url, self.s3_endpoint.as_deref(), plan.object_range(), plan.object_reads)?);
            #[cfg(not(feature = "aws"))]
            {
                let _ = (url, plan);
                bail!("this build reads no s3:// input (built without the `aws` feature)");
            }
        }
        Ok(Source::open(&self.input)?)
    }

    /// The pipeline file, when one is given.
    fn file(&self) -> anyhow::Result<Option<PipelineFile>> {
        Ok(self.pipeline.as_deref().map(PipelineFile::from_path).transpose()?)
    }

    /// The spec: the pipeline file's, with the flags given over it.
    fn spec(&self, file: Option<&PipelineFile>) -> anyhow::Result<Spec> {
        let mut spec = match file {
            Some(f) => f.spec_for(&self.input),
            None => Spec { format: Format::from_path(&self.input), ..Spec::new(None) },
        };
        if let Some(path) = &self.schema {
            spec.schema = Some(Schema::from_path(path)?);
        }
        if let Some(f) = &self.format {
            spec.format = f.parse::<Format>()?;
        }
        self.csv.apply(&mut spec)?;
        if let Some(u) = &self.json.unknown_fields {
            spec.json.unknown_fields_are_errors = match u.as_str() {
                "ignore" => false,
                "error" => true,
                other => bail!("--unknown-fields must be ignore or error, not {other:?}"),
            };
        }
        if let Some(d) = self.json.max_depth {
            spec.json.max_depth = d;
        }
        spec.json.flatten |= self.json.flatten;
        Ok(spec)
    }
}

#[derive(Args)]
struct ConvertArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output Parquet file, written under a temporary name and renamed when
    /// complete; a directory when the pipeline has routes, partitions or
    /// max_file_mb (files under it, then `_manifest.json`).
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    parquet: ParquetArgs,
    #[command(flatten)]
    errors: ErrorArgs,
    #[command(flatten)]
    budget: BudgetArgs,
    /// Write the report as JSON to this file (`-` for stdout).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the plan to stderr before converting.
    #[arg(long)]
    explain: bool,
    /// Print nothing on success (errors are still printed).
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct ValidateArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    budget: BudgetArgs,
    /// Print the full report as JSON on stdout (valid, stats, errors).
    #[arg(long = "json")]
    json_report: bool,
    /// The most bad rows the report lists (all are counted).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    limit_errors: usize,
}

#[derive(Args)]
struct CsvArgs {
    /// Field delimiter (one byte; `\t` for tab) [default: ,].
    #[arg(long)]
    delimiter: Option<String>,
    /// Quote character [default: "].
    #[arg(long)]
    quote: Option<String>,
    /// Escape character inside quoted fields (default: quotes are doubled).
    #[arg(long)]
    escape: Option<String>,
    /// The first line is data, not a header (the schema then names the columns by position).
    #[arg(long)]
    no_header: bool,
    /// A field text read as null; repeat for several (default: the empty field).
    #[arg(long = "null", value_name = "MARKER")]
    null_markers: Vec<String>,
}

#[derive(Args)]
struct JsonArgs {
    /// What to do with an object key the schema does not name: ignore or
    /// error [default: ignore].
    #[arg(long, value_name = "ignore|error")]
    unknown_fields: Option<String>,
    /// Deepest nesting of objects and arrays in a record, the record itself
    /// being level 1; a deeper record is an error [default: 128].
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Read nested objects into top-level columns named by dotted paths: a
    /// schema column `addr.city` reads {"addr": {"city": ...}}.
    #[arg(long)]
    flatten: bool,
}

#[derive(Args)]
struct ErrorArgs {
    /// What a bad row does: reject (set it aside in the rejects file and go
    /// on), fail (stop the run), or null (a value that does not fit becomes
    /// null where its column is nullable; other bad rows are rejected)
    /// [default: reject].
    #[arg(long, value_name = "reject|fail|null")]
    on_error: Option<String>,
    /// Fail the run once more rows than this are rejected: a count (100) or
    /// a share of the rows read (5%, judged at the end).
    #[arg(long, value_name = "N|P%")]
    max_rejects: Option<String>,
    /// The rejects file (NDJSON, one line per rejected row; written only when
    /// a row is rejected) [default: OUTPUT.rejects.ndjson].
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
}

#[derive(Args)]
struct ParquetArgs {
    /// Page compression: snappy, zstd[:LEVEL], lz4, gzip[:LEVEL] or none
    /// [default: snappy].
    #[arg(long)]
    compression: Option<String>,
    /// Turn dictionary encoding off.
    #[arg(long)]
    no_dictionary: bool,
    /// Turn delta encoding of integer, date and timestamp columns off (for
    /// readers without DELTA_BINARY_PACKED).
    #[arg(long)]
    no_delta: bool,
    /// Turn column statistics off.
    #[arg(long)]
    no_statistics: bool,
}

#[derive(Args)]
struct BudgetArgs {
    /// Memory budget in MB; every size below derives from it.
    /// [default: AWS_LAMBDA_FUNCTION_MEMORY_SIZE when set, else 1024]
    #[arg(short, long, value_name = "MB")]
    memory: Option<u64>,
    /// Worker threads [default: 1 per 1,769 MB, at most the cores present].
    #[arg(short, long)]
    threads: Option<usize>,
    /// Largest chunk in bytes, and so the largest record [default: from the budget].
    #[arg(long, value_name = "BYTES")]
    chunk_bytes: Option<usize>,
    /// Chunks waiting for a worker [default: one per thread].
    #[arg(long, value_name = "CHUNKS")]
    queue_depth: Option<usize>,
    /// Encoded chunks that may wait for an earlier one [default: one per thread].
    #[arg(long, value_name = "CHUNKS")]
    reorder_window: Option<usize>,
    /// Most rows in one row group [default: 1048576; each chunk also ends one].
    #[arg(long, value_name = "ROWS")]
    row_group_rows: Option<usize>,
}

impl BudgetArgs {
    fn budget(&self) -> Budget {
        self.budget_over(None)
    }

    /// The budget: these flags over the pipeline file's `[budget]`.
    fn budget_over(&self, file: Option<&PipelineFile>) -> Budget {
        let mut b = match (self.memory, file.and_then(|f| f.memory_mb)) {
            (Some(mb), _) | (None, Some(mb)) => Budget::new(mb),
            (None, None) => Budget::from_env(),
        };
        if let Some(n) = self.threads.or(file.and_then(|f| f.threads)) {
            b = b.threads(n);
        }
        if let Some(n) = self.chunk_bytes {
            b = b.chunk_bytes(n);
        }
        if let Some(n) = self.queue_depth {
            b = b.queue_depth(n);
        }
        if let Some(n) = self.reorder_window {
            b = b.reorder_window(n);
        }
        if let Some(n) = self.row_group_rows.or(file.and_then(|f| f.row_group_rows)) {
            b = b.row_group_rows(n);
        }
        b
    }
}

impl CsvArgs {
    /// Sets the CSV options these flags give.
    fn apply(&self, spec: &mut Spec) -> anyhow::Result<()> {
        let o = &mut spec.csv;
        if let Some(d) = &self.delimiter {
            o.delimiter = one_byte("--delimiter", d)?;
        }
        if let Some(q) = &self.quote {
            o.quote = one_byte("--quote", q)?;
        }
        if let Some(e) = &self.escape {
            o.escape = Some(one_byte("--escape", e)?);
        }
        if self.no_header {
            o.has_header = false;
        }
        if !self.null_markers.is_empty() {
            o.null_markers = self.null_markers.clone();
        }
        Ok(())
    }
}

fn one_byte(flag: &str, s: &str) -> anyhow::Result<u8> {
    match s {
        "\\t" | "tab" => Ok(b'\t'),
        _ if s.len() == 1 => Ok(s.as_bytes()[0]),
        _ => bail!("{flag} must be one ASCII character, not {s:?}"),
    }
}

fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let file = args.input.file()?;
    let mut spec = args.input.spec(file.as_ref())?;
    if let Some(c) = &args.parquet.compression {
        spec.output.compression = c.parse::<Compression>()?;
    }
    spec.output.dictionary &= !args.parquet.no_dictionary;
    spec.output.delta &= !args.parquet.no_delta;
    spec.output.statistics &= !args.parquet.no_statistics;
    if let Some(policy) = &args.errors.on_error {
        spec.on_error = policy.parse()?;
    }
    if let Some(limit) = &args.errors.max_rejects {
        spec.max_rejects = Some(limit.parse()?);
    }
    let objects = args.input.is_object() || object_url(&args.output.to_string_lossy())?.is_some();
    let plan = args.budget.budget_over(file.as_ref()).partitioned(spec.is_partitioned()).objects(objects).plan()?;
    if args.explain {
        eprintln!("{plan}");
    }
    let source = args.input.source(&plan)?;
    let directory = spec.writes_directory();
    let progress = Arc::new(AtomicU64::new(0));
    let mut pipeline = Pipeline::new(spec, plan).with_progress(Arc::clone(&progress));
    if let Some(path) = args.errors.rejects.as_ref().or(file.as_ref().and_then(|f| f.rejects.as_ref())) {
        pipeline = pipeline.with_rejects_path(path);
    }
    let target = Target::new(&args.output, args.input.s3_endpoint.as_deref(), directory)?;
    #[cfg(feature = "aws")]
    if let Target::Object(p) = &target {
        pipeline = pipeline.with_streams(p.streams());
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| ProgressBar::start(progress, source.size()));
    let result = pipeline.run(source, &target.local());
    if let Some(bar) = bar {
        bar.stop();
    }
    let mut report = result?;
    target.publish(&mut report)?;
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report)?;
        if path.as_os_str() == "-" {
            writeln!(std::io::stdout(), "{json}")?;
        } else {
            std::fs::write(path, json + "\n").with_context(|| format!("writing report {}", path.display()))?;
        }
    }
    if !args.quiet {
        eprintln!("{report}");
    }
    Ok(())
}

fn infer(args: InferArgs) -> anyhow::Result<()> {
    let mut options = InferOptions {
        format: match &args.format {
            Some(f) => f.parse::<Format>()?,
            None => Format::from_path(&args.input),
        },
        sample_bytes: args.sample_bytes,
        sample_rows: args.sample_rows.max(1),
        delimiter: args.delimiter.as_deref().map(|d| one_byte("--delimiter", d)).transpose()?,
        has_header: match args.header.as_str() {
            "auto" => None,
            "yes" => Some(true),
            "no" => Some(false),
            other => bail!("--header must be auto, yes or no, not {other:?}"),
        },
        ..InferOptions::default()
    };
    if !args.null_markers.is_empty() {
        options.null_markers = args.null_markers.clone();
    }
    let inferred = sluicegate::infer::infer(Source::open(&args.input)?, &options)?;
    let json = inferred.to_json();
    match &args.output {
        Some(path) => std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(json.as_bytes())?,
    }
    if !args.quiet {
        for note in &inferred.notes {
            eprintln!("sluicegate: note: {note}");
        }
        let mut summary = format!(
            "sluicegate: {} columns from {} records ({} bytes, {} {})",
            inferred.schema.len(),
            inferred.rows,
            inferred.bytes,
            inferred.places,
            if inferred.places == 1 { "place" } else { "places" }
        );
        if let Some(d) = &inferred.csv {
            let delimiter = match d.options.delimiter {
                b'\t' => "tab".to_string(),
                b => format!("{:?}", b as char),
            };
            summary += &format!(
                "; CSV: delimiter {delimiter}, {}, {} line ends",
                if d.options.has_header { "a header" } else { "no header" },
                d.line_ending.as_str()
            );
        }
        eprintln!("{summary}");
        let schema = args.output.as_ref().map_or("SCHEMA.json".to_string(), |p| shell_quote(&p.display().to_string()));
        let mut cmd = format!(
            "sluicegate convert {} --schema {schema} -o OUT.parquet",
            shell_quote(&args.input.display().to_string())
        );
        for f in inferred.convert_flags() {
            cmd.push(' ');
            cmd += &shell_quote(&f);
        }
        eprintln!("sluicegate: convert with: {cmd}");
    }
    Ok(())
}

/// An `s3://` address, when `s` is one.
#[cfg(feature = "aws")]
fn object_url(s: &str) -> anyhow::Result<Option<sluicegate::source::object::ObjectUrl>> {
    Ok(sluicegate::source::object::ObjectUrl::parse(s).transpose()?)
}

#[cfg(not(feature = "aws"))]
fn object_url(s: &str) -> anyhow::Result<Option<String>> {
    Ok(s.starts_with("s3://").then(|| s.to_string()))
}

/// Where a conversion writes: a local path, or an object address it
/// streams to (staging what it cannot stream) and publishes when the run
/// succeeds.
enum Target {
    Local(PathBuf),
    #[cfg(feature = "aws")]
    Object(sluicegate::sink::object::Publisher),
}

impl Target {
    fn new(output: &std::path::Path, endpoint: Option<&str>, directory: bool) -> anyhow::Result<Target> {
        let name = output.to_string_lossy();
        match object_url(&name)? {
            None => Ok(Target::Local(output.to_path_buf())),
            #[cfg(feature = "aws")]
            Some(url) => Ok(Target::Object(sluicegate::sink::object::Publisher::new(url, endpoint, directory)?)),
            #[cfg(not(feature = "aws"))]
            Some(_) => {
                let _ = (endpoint, directory);
                bail!("this build writes no s3:// output (built without the `aws` feature)")
            }
        }
    }

    /// The path the pipeline writes.
    fn local(&self) -> PathBuf {
        match self {
            Target::Local(p) => p.clone(),
            #[cfg(feature = "aws")]
            Target::Object(p) => p.staged_output(),
        }
    }

    /// Uploads what the run staged; the report then names the objects.
    fn publish(self, report: &mut sluicegate::Report) -> anyhow::Result<()> {
        match self {
            Target::Local(_) => {
                let _ = report;
                Ok(())
            }
            #[cfg(feature = "aws")]
            Target::Object(p) => {
                let rejects = report.rejects_file.as_ref().map(PathBuf::from);
                let objects = p.publish(rejects.as_deref())?;
                report.output = p.url().to_string();
                if rejects.is_some() {
                    report.rejects_file = objects.last().cloned();
                }
                Ok(())
            }
        }
    }
}

/// `s` as one word for a POSIX shell.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Checks an input without writing anything; exit code 1 when a row is bad.
fn validate(args: ValidateArgs) -> anyhow::Result<bool> {
    let file = args.input.file()?;
    let spec = args.input.spec(file.as_ref())?;
    let plan = args.budget.budget_over(file.as_ref()).objects(args.input.is_object()).plan()?;
    let pipeline = Pipeline::new(spec, plan);
    let source = args.input.source(pipeline.plan())?;
    let (report, bad) = pipeline.validate(source, args.limit_errors)?;
    let valid = report.rows_rejected == 0;
    let mut out = std::io::stdout().lock();
    if args.json_report {
        let errors: Vec<serde_json::Value> = bad
            .iter()
            .flat_map(|r| {
                r.problems.iter().map(move |p| {
                    serde_json::json!({
                        "row": r.location.record + 1,
                        "record": r.location.record,
                        "line": r.location.line,
                        "byte_offset": r.location.byte,
                        "field": p.column,
                        "code": p.kind.code(),
                        "message": p.kind.to_string(),
                        "value": p.value,
                    })
                })
            })
            .collect();
        let json = serde_json::json!({
            "valid": valid,
            "source": report.source,
            "stats": {
                "rows": report.rows_read,
                "valid_rows": report.rows_written,
                "invalid_rows": report.rows_rejected,
                "errors_by_code": report.rejects_by_code,
                "bytes": report.bytes_read,
                "seconds": report.seconds,
                "peak_rss_bytes": report.peak_rss_bytes,
            },
            "errors": errors,
            "errors_truncated": (bad.len() as u64) < report.rows_rejected,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        return Ok(valid);
    }
    if valid {
        writeln!(out, "valid: {}: {} rows", report.source, report.rows_read)?;
        return Ok(true);
    }
    let codes: Vec<String> = report.rejects_by_code.iter().map(|(c, n)| format!("{c} {n}")).collect();
    writeln!(
        out,
        "invalid: {}: {} of {} rows bad ({})",
        report.source,
        report.rows_rejected,
        report.rows_read,
        codes.join(", ")
    )?;
    for r in &bad {
        for p in &r.problems {
            let column = p.column.as_ref().map(|c| format!(", column {c:?}")).unwrap_or_default();
            let value = p.value.as_ref().map(|v| format!(": {v:?}")).unwrap_or_default();
            writeln!(
                out,
                "  line {}, byte {}, record {}{column}: {} ({}){value}",
                r.location.line,
                r.location.byte,
                r.location.record,
                p.kind,
                p.kind.code()
            )?;
        }
    }
    if (bad.len() as u64) < report.rows_rejected {
        writeln!(out, "  ... {} more bad rows (--limit-errors)", report.rows_rejected - bad.len() as u64)?;
    }
    Ok(false)
}

/// Compiles a pipeline file against its schema; prints every problem, or
/// what each output will hold.
fn check(args: CheckArgs) -> anyhow::Result<bool> {
    let path = &args.pipeline;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.file_stem().map_or("pipeline".into(), |s| s.to_string_lossy().into_owned());
    let mut out = std::io::stdout().lock();
    let problems = |out: &mut dyn Write, found: &[sluicegate::spec::Finding]| -> anyhow::Result<bool> {
        writeln!(out, "{}", describe(Some(path), found))?;
        let n = found.len();
        writeln!(out, "{}: {n} problem{}", path.display(), if n == 1 { "" } else { "s" })?;
        Ok(false)
    };
    let file = match PipelineFile::parse(&text, &name, path.parent().unwrap_or(std::path::Path::new(""))) {
        Ok(f) => f,
        Err(found) => return problems(&mut out, &found),
    };
    let mut spec = file.spec;
    if let Some(s) = &args.schema {
        spec.schema = Some(Schema::from_path(s)?);
    }
    let Some(schema) = &spec.schema else {
        writeln!(out, "{}: no schema to check against: give [input] schema or columns, or --schema", path.display())?;
        return Ok(false);
    };
    let stage = match Stage::compile(&spec, &schema.arrow()) {
        Ok(stage) => stage,
        Err(found) => return problems(&mut out, &found),
    };
    writeln!(out, "ok: {} ({})", path.display(), file.name)?;
    for layout in stage.layouts() {
        let columns: Vec<String> =
            layout.schema.fields().iter().map(|f| format!("{} {}", f.name(), type_name(f.data_type()))).collect();
        let partitions = match &layout.partition_by[..] {
            [] => String::new(),
            p => format!("; partitioned by {}", p.join(", ")),
        };
        let named = if layout.name.is_empty() { String::new() } else { format!("route {}: ", layout.name) };
        writeln!(out, "  {named}{}{partitions}", columns.join(", "))?;
    }
    Ok(true)
}

/// A one-line progress display on stderr, redrawn a few times a second.
struct ProgressBar {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl ProgressBar {
    fn start(done: Arc<AtomicU64>, total: Option<u64>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let d = done.load(Ordering::Relaxed) as f64 / 1e6;
                let rate = d / started.elapsed().as_secs_f64().max(1e-3);
                let line = match total {
                    Some(t) if t > 0 => {
                        let t = t as f64 / 1e6;
                        format!("{:5.1}% {d:.0}/{t:.0} MB, {rate:.0} MB/s", 100.0 * d / t)
                    }
                    _ => format!("{d:.0} MB, {rate:.0} MB/s"),
                };
                eprint!("\r\x1b[2K{line}");
                let _ = std::io::stderr().flush();
            }
            eprint!("\r\x1b[2K");
        });
        ProgressBar { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert(*args),
        Command::Infer(args) => infer(args),
        Command::Validate(args) => match validate(*args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Check(args) => match check(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Plan(args) => args
            .budget()
            .plan()
            .map_err(anyhow::Error::from)
            .and_then(|p| writeln!(std::io::stdout(), "{p}").map_err(Into::into)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("sluicegate: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().filter_map(|c| c.downcast_ref::<std::io::Error>()).any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
