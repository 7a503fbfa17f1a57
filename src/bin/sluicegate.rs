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
use sluicegate::spec::{Compression, CsvOptions, Format, JsonOptions, ParquetOptions, Schema};
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
    /// Print the plan a memory budget gives (threads, chunk size, queues).
    Plan(BudgetArgs),
}

#[derive(Args)]
struct ConvertArgs {
    /// Input file; `-` reads standard input. gzip and zstd are detected.
    input: PathBuf,
    /// Input format: csv, ndjson (also jsonl) or json-array (also json)
    /// [default: from the file name, also under .gz or .zst: .ndjson and
    /// .jsonl are NDJSON, .json a JSON array, anything else CSV].
    #[arg(short, long)]
    format: Option<String>,
    /// Output Parquet file, written under a temporary name and renamed when complete.
    #[arg(short, long)]
    output: PathBuf,
    /// Schema file (JSON: {"columns": [{"name", "type", "nullable"}]}). Without
    /// one, every column is a nullable string named by the header.
    #[arg(short, long)]
    schema: Option<PathBuf>,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    json: JsonArgs,
    #[command(flatten)]
    parquet: ParquetArgs,
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
struct CsvArgs {
    /// Field delimiter (one byte; `\t` for tab).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Quote character.
    #[arg(long, default_value = "\"")]
    quote: String,
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
    /// What to do with an object key the schema does not name: ignore or error.
    #[arg(long, default_value = "ignore", value_name = "ignore|error")]
    unknown_fields: String,
    /// Deepest nesting of objects and arrays in a record, the record itself
    /// being level 1; a deeper record is an error.
    #[arg(long, value_name = "N", default_value_t = sluicegate::spec::DEFAULT_MAX_DEPTH)]
    max_depth: usize,
    /// Read nested objects into top-level columns named by dotted paths: a
    /// schema column `addr.city` reads {"addr": {"city": ...}}.
    #[arg(long)]
    flatten: bool,
}

#[derive(Args)]
struct ParquetArgs {
    /// Page compression: snappy, zstd[:LEVEL], lz4, gzip[:LEVEL] or none.
    #[arg(long, default_value = "snappy")]
    compression: String,
    /// Turn dictionary encoding off.
    #[arg(long)]
    no_dictionary: bool,
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
        let mut b = match self.memory {
            Some(mb) => Budget::new(mb),
            None => Budget::from_env(),
        };
        if let Some(n) = self.threads {
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
        if let Some(n) = self.row_group_rows {
            b = b.row_group_rows(n);
        }
        b
    }
}

impl CsvArgs {
    fn options(&self) -> anyhow::Result<CsvOptions> {
        let mut o = CsvOptions {
            delimiter: one_byte("--delimiter", &self.delimiter)?,
            quote: one_byte("--quote", &self.quote)?,
            escape: self.escape.as_deref().map(|e| one_byte("--escape", e)).transpose()?,
            has_header: !self.no_header,
            ..CsvOptions::default()
        };
        if !self.null_markers.is_empty() {
            o.null_markers = self.null_markers.clone();
        }
        Ok(o)
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
    let schema = args.schema.as_deref().map(Schema::from_path).transpose()?;
    let mut spec = Spec::new(schema);
    spec.format = match &args.format {
        Some(f) => f.parse::<Format>()?,
        None => Format::from_path(&args.input),
    };
    spec.csv = args.csv.options()?;
    spec.json = JsonOptions {
        unknown_fields_are_errors: match args.json.unknown_fields.as_str() {
            "ignore" => false,
            "error" => true,
            other => bail!("--unknown-fields must be ignore or error, not {other:?}"),
        },
        max_depth: args.json.max_depth,
        flatten: args.json.flatten,
    };
    spec.output = ParquetOptions {
        compression: args.parquet.compression.parse::<Compression>()?,
        dictionary: !args.parquet.no_dictionary,
        statistics: !args.parquet.no_statistics,
    };
    let plan = args.budget.budget().plan()?;
    if args.explain {
        eprintln!("{plan}");
    }
    let source = Source::open(&args.input)?;
    let progress = Arc::new(AtomicU64::new(0));
    let pipeline = Pipeline::new(spec, plan).with_progress(Arc::clone(&progress));
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| ProgressBar::start(progress, source.size()));
    let result = pipeline.run(source, &args.output);
    if let Some(bar) = bar {
        bar.stop();
    }
    let report = result?;
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
