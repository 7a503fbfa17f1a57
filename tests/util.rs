//! Runs one input through every strategy (chunk sizes, thread counts, mapped
//! and streamed sources) and checks they agree.

use std::path::Path;

use arrow_array::{RecordBatch, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluicegate::spec::{CsvOptions, Format, JsonOptions, OnError, PipelineFile, Placed, Schema};
use sluicegate::{Budget, Error, Pipeline, Report, Source, Spec};

/// A conversion under test (by default under the fail policy).
#[derive(Clone)]
pub struct Case {
    pub csv: Vec<u8>,
    pub schema: Option<Schema>,
    pub options: CsvOptions,
    pub format: Format,
    pub json: JsonOptions,
    pub on_error: OnError,
    /// Transforms applied after decoding.
    pub steps: Vec<Placed>,
}

impl Case {
    pub fn new(csv: impl Into<Vec<u8>>, schema_json: &str) -> Self {
        Case {
            csv: csv.into(),
            schema: Some(Schema::from_json(schema_json).unwrap()),
            options: CsvOptions::default(),
            format: Format::Csv,
            json: JsonOptions::default(),
            on_error: OnError::Fail,
            steps: Vec::new(),
        }
    }

    /// The same case with the `[[transform]]` tables of a pipeline file.
    pub fn transformed(mut self, toml: &str) -> Self {
        let file = PipelineFile::parse(toml, "case", Path::new(""))
            .unwrap_or_else(|f| panic!("{}", f.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")));
        self.steps = file.spec.steps;
        self
    }

    pub fn ndjson(text: impl Into<Vec<u8>>, schema_json: &str) -> Self {
        Case { format: Format::Ndjson, ..Case::new(text, schema_json) }
    }

    pub fn json_array(text: impl Into<Vec<u8>>, schema_json: &str) -> Self {
        Case { format: Format::JsonArray, ..Case::new(text, schema_json) }
    }

    /// The longest record in bytes, a safe lower bound for chunk sizes.
    fn longest_record(&self) -> usize {
        if self.format == Format::JsonArray {
            return self.longest_element();
        }
        // Conservative: the longest stretch between two newlines outside
        // quotes is at most the longest stretch containing no boundary, which
        // the whole-input run tells us nothing about; use the whole input
        // length split by lines, which is an upper bound on single lines and
        // is corrected for quoted newlines below.
        let mut longest = 0;
        let mut start = 0;
        let mut in_quotes = false;
        for (i, &b) in self.csv.iter().enumerate() {
            if b == self.options.quote && self.format == Format::Csv {
                in_quotes = !in_quotes;
            } else if b == b'\n' && !in_quotes {
                longest = longest.max(i + 1 - start);
                start = i + 1;
            }
        }
        longest.max(self.csv.len() - start)
    }

    /// The longest stretch of a JSON array from an element's start through
    /// the top-level comma after it; the last runs to the end of the input.
    /// A scan of its own, independent of the splitter's.
    fn longest_element(&self) -> usize {
        let text = &self.csv;
        let Some(open) = text.iter().position(|&b| b == b'[') else { return text.len() };
        let (mut longest, mut start, mut depth, mut in_string, mut escaped) = (0, open + 1, 0i64, false, false);
        for (i, &b) in text.iter().enumerate().skip(open + 1) {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => depth = (depth - 1).max(0),
                b',' if depth == 0 => {
                    longest = longest.max(i + 1 - start);
                    start = i + 1;
                }
                _ => {}
            }
        }
        longest.max(text.len() - start)
    }

    /// Chunk sizes from a few bytes over the longest record up to whole.
    pub fn chunk_sizes(&self) -> Vec<usize> {
        let l = self.longest_record();
        let mut sizes = vec![l, l + 1, l + 3, l + 17, 2 * l + 5, 4096, 1 << 20];
        sizes.retain(|&s| s >= l);
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }

    fn run(&self, chunk: usize, threads: usize, streamed: bool, dir: &Path) -> Result<(Report, RecordBatch), Error> {
        let mut spec = Spec::new(self.schema.clone());
        spec.csv = self.options.clone();
        spec.format = self.format;
        spec.json = self.json.clone();
        spec.on_error = self.on_error;
        spec.steps = self.steps.clone();
        let plan = Budget::new(128).threads(threads).chunk_bytes(chunk).plan()?;
        let source = if streamed {
            Source::from_reader("case", std::io::Cursor::new(self.csv.clone()))?
        } else {
            Source::from_bytes("case", self.csv.clone())
        };
        let out = dir.join(format!("out-{chunk}-{threads}-{streamed}.parquet"));
        let report = Pipeline::new(spec, plan).run(source, &out)?;
        Ok((report, read_parquet(&out)))
    }

    /// The same case under another error policy.
    pub fn on(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Runs every strategy under the reject policy; all must succeed with
    /// the same rows and the same reject records (the rejects file's lines,
    /// parsed), which are returned. Every row read is written or rejected.
    pub fn rejects(&self) -> (RecordBatch, Vec<serde_json::Value>) {
        let dir = tempfile::tempdir().unwrap();
        let case = Case { on_error: OnError::Reject, ..self.clone() };
        let mut first: Option<(RecordBatch, Vec<serde_json::Value>)> = None;
        for chunk in self.chunk_sizes() {
            for threads in [1, 2, 4] {
                for streamed in [false, true] {
                    let at = format!("chunk {chunk}, threads {threads}, streamed {streamed}");
                    let (report, batch) =
                        case.run(chunk, threads, streamed, dir.path()).unwrap_or_else(|e| panic!("{at}: {e}"));
                    let rejects: Vec<serde_json::Value> = match &report.rejects_file {
                        Some(path) => std::fs::read_to_string(path)
                            .unwrap()
                            .lines()
                            .map(|l| serde_json::from_str(l).unwrap())
                            .collect(),
                        None => Vec::new(),
                    };
                    let gone = report.rows_rejected + report.rows_filtered;
                    assert_eq!(report.rows_read, report.rows_written + gone, "{at}");
                    assert_eq!(report.rows_rejected, rejects.len() as u64, "{at}");
                    assert_eq!(report.rows_written, batch.num_rows() as u64, "{at}");
                    match &first {
                        None => first = Some((batch, rejects)),
                        Some(f) => assert_eq!(f, &(batch, rejects), "{at}"),
                    }
                }
            }
        }
        first.unwrap()
    }

    /// Runs every strategy; all must succeed with the same rows, which are
    /// returned.
    pub fn converts(&self) -> RecordBatch {
        let dir = tempfile::tempdir().unwrap();
        let mut first: Option<RecordBatch> = None;
        for chunk in self.chunk_sizes() {
            for threads in [1, 2, 4] {
                for streamed in [false, true] {
                    let (report, batch) = self
                        .run(chunk, threads, streamed, dir.path())
                        .unwrap_or_else(|e| panic!("chunk {chunk}, threads {threads}, streamed {streamed}: {e}"));
                    let gone = report.rows_rejected + report.rows_filtered;
                    assert_eq!(report.rows_read, report.rows_written + gone);
                    assert_eq!(report.rows_written, batch.num_rows() as u64);
                    match &first {
                        None => first = Some(batch),
                        Some(f) => assert_eq!(f, &batch, "chunk {chunk}, threads {threads}, streamed {streamed}"),
                    }
                }
            }
        }
        first.unwrap()
    }

    /// Runs every strategy; all must fail with the same message, which is
    /// returned. No output file may be left behind.
    pub fn fails(&self) -> String {
        self.fails_at(&self.chunk_sizes())
    }

    /// As [`Case::fails`], at the given chunk sizes only (for records that
    /// must not fit).
    pub fn fails_at(&self, chunk_sizes: &[usize]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut first: Option<String> = None;
        for &chunk in chunk_sizes {
            for threads in [1, 2, 4] {
                for streamed in [false, true] {
                    let err = match self.run(chunk, threads, streamed, dir.path()) {
                        Ok((r, _)) => panic!("chunk {chunk}, threads {threads}: converted {} rows", r.rows_written),
                        Err(e) => e.to_string(),
                    };
                    match &first {
                        None => first = Some(err),
                        Some(f) => assert_eq!(f, &err, "chunk {chunk}, threads {threads}, streamed {streamed}"),
                    }
                }
            }
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "files left after a failed run: {left:?}");
        first.unwrap()
    }
}

pub fn read_parquet(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}
