//! Errors carry where they happened as data, not as text.
//!
//! Two families: a [`ErrorKind::Spec`] error means the pipeline description is
//! wrong and no data was read; the data kinds ([`ErrorKind::Parse`],
//! [`ErrorKind::FieldCount`], ...) mean one record is bad and carry a
//! [`Location`] so a caller can point at the source bytes (and, later, turn
//! the record into a reject instead of stopping).

use std::fmt;

/// Where in the input a data error happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// 1-based line on which the record starts (a header line counts).
    pub line: u64,
    /// 0-based byte offset of the record's first byte in the source (a BOM counts).
    pub byte: u64,
    /// 0-based index of the record among data records (the header excluded).
    pub record: u64,
    /// The column the error is about, where there is one.
    pub column: Option<String>,
    /// The offending value as text (lossy UTF-8, cut to 200 bytes).
    pub value: Option<String>,
}

/// One thing wrong with a record, as its reject record lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ErrorKind,
    /// The column, where the problem is about one.
    pub column: Option<String>,
    /// The offending value as text (lossy UTF-8, cut to 200 bytes).
    pub value: Option<String>,
}

/// A record set aside under the reject policy, with all that is wrong with
/// it. The record index is relative to its chunk until the pipeline makes
/// it absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Where the record starts (`column` and `value` unused).
    pub location: Location,
    /// In field order; never empty.
    pub problems: Vec<Problem>,
    /// The record's bytes, without its line break.
    pub raw: Vec<u8>,
}

impl Reject {
    /// The run-stopping error for this record (its first problem).
    pub fn into_error(self) -> Error {
        let p = self.problems.into_iter().next().expect("a reject has a problem");
        let mut loc = self.location;
        loc.column = p.column;
        loc.value = p.value;
        Error::new(p.kind).at(loc)
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The spec (schema, options, budget) is wrong; nothing was read.
    Spec(String),
    /// Reading or writing failed at the operating-system level.
    Io(String),
    /// A value does not parse as its column's type.
    Parse { expected: String },
    /// A null (or null marker) in a column that is not nullable.
    NullInNonNullable,
    /// A record has the wrong number of fields.
    FieldCount { expected: usize, found: usize },
    /// A quote where RFC 4180 allows none (text after a closing quote, a bare quote).
    MalformedQuote,
    /// A quoted field that never closes before the end of the input.
    UnterminatedQuote,
    /// Bytes that are not UTF-8 in a text column or the header.
    InvalidUtf8,
    /// One record is larger than the budget's largest record.
    RecordTooLarge { limit: usize },
    /// Encoding Parquet failed.
    Encode(String),
    /// A JSON record that is not valid JSON (the parser's reason).
    JsonSyntax(String),
    /// A JSON record that is not an object.
    JsonShape,
    /// An object names the same key twice.
    DuplicateKey,
    /// An object key the schema does not name, when those are refused.
    UnknownField,
    /// More rows were rejected than the run allows.
    TooManyRejects { rejected: u64, read: u64, limit: String },
    /// A JSON record nests objects and arrays deeper than the limit.
    TooDeep { limit: usize },
    /// A value breaks one of its column's constraints, named as in
    /// `minimum 0`, `pattern ^[A-Z]{2}$`, `enum`, `max_length 20`, `required`.
    Constraint { constraint: String },
    /// A transform expression failed on this row (a cast that does not
    /// parse, a division by zero): the expression and the reason.
    Transform { expression: String, reason: String },
    /// The run stopped because its deadline came before it could finish
    /// (a Lambda invocation's time running out); it wrote nothing, and
    /// running it again with more time can succeed.
    Deadline,
}

impl ErrorKind {
    /// A stable short code, the same one reject records will use.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Spec(_) => "spec-error",
            ErrorKind::Io(_) => "io-error",
            ErrorKind::Parse { .. } => "type-error",
            ErrorKind::NullInNonNullable => "constraint-error",
            ErrorKind::FieldCount { expected, found } if found < expected => "missing-cell",
            ErrorKind::FieldCount { .. } => "extra-cell",
            ErrorKind::MalformedQuote => "malformed-quote",
            ErrorKind::UnterminatedQuote => "unterminated-quote",
            ErrorKind::InvalidUtf8 => "encoding-error",
            ErrorKind::RecordTooLarge { .. } => "record-too-large",
            ErrorKind::Encode(_) => "encode-error",
            ErrorKind::JsonSyntax(_) => "json-syntax",
            ErrorKind::JsonShape => "json-shape",
            ErrorKind::DuplicateKey => "duplicate-key",
            ErrorKind::UnknownField => "unknown-field",
            ErrorKind::TooManyRejects { .. } => "too-many-rejects",
            ErrorKind::TooDeep { .. } => "too-deep",
            ErrorKind::Constraint { .. } => "constraint-error",
            ErrorKind::Transform { .. } => "transform-error",
            ErrorKind::Deadline => "deadline",
        }
    }

    /// Whether this is about one record (so a later policy could skip it)
    /// rather than about the spec, the file system or the file as a whole.
    pub fn is_record_level(&self) -> bool {
        matches!(
            self,
            ErrorKind::Parse { .. }
                | ErrorKind::NullInNonNullable
                | ErrorKind::FieldCount { .. }
                | ErrorKind::MalformedQuote
                | ErrorKind::InvalidUtf8
                | ErrorKind::JsonSyntax(_)
                | ErrorKind::JsonShape
                | ErrorKind::DuplicateKey
                | ErrorKind::UnknownField
                | ErrorKind::TooDeep { .. }
                | ErrorKind::Constraint { .. }
                | ErrorKind::Transform { .. }
        )
    }
}

/// The crate's error: a kind, and where it happened when it is about data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: Box<ErrorKind>,
    location: Option<Box<Location>>,
    source_name: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind) -> Self {
        Error { kind: Box::new(kind), location: None, source_name: None }
    }

    pub fn spec(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Spec(msg.into()))
    }

    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io(format!("{context}: {err}")))
    }

    pub fn encode(err: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Encode(err.to_string()))
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(Box::new(location));
        self
    }

    /// Names the input the error came from (a path, `-` for stdin).
    pub fn in_source(mut self, name: impl Into<String>) -> Self {
        self.source_name = Some(name.into());
        self
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub fn location(&self) -> Option<&Location> {
        self.location.as_deref()
    }

    pub fn location_mut(&mut self) -> Option<&mut Location> {
        self.location.as_deref_mut()
    }

    pub fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Spec(m) => write!(f, "invalid spec: {m}"),
            ErrorKind::Io(m) => write!(f, "{m}"),
            ErrorKind::Parse { expected } => write!(f, "value does not parse as {expected}"),
            ErrorKind::NullInNonNullable => write!(f, "null value in a column that is not nullable"),
            ErrorKind::FieldCount { expected, found } => {
                write!(f, "record has {found} fields, expected {expected}")
            }
            ErrorKind::MalformedQuote => {
                write!(f, "malformed quoting (a quote inside an unquoted field or text after a closing quote)")
            }
            ErrorKind::UnterminatedQuote => write!(f, "quoted field is not closed before the end of the input"),
            ErrorKind::InvalidUtf8 => write!(f, "invalid UTF-8"),
            ErrorKind::RecordTooLarge { limit } => write!(
                f,
                "record is larger than the largest record the budget allows ({limit} bytes); raise --memory or --chunk-bytes"
            ),
            ErrorKind::Encode(m) => write!(f, "parquet encoding failed: {m}"),
            ErrorKind::JsonSyntax(m) => write!(f, "invalid JSON ({m})"),
            ErrorKind::JsonShape => write!(f, "JSON record is not an object"),
            ErrorKind::DuplicateKey => write!(f, "JSON object has the same key twice"),
            ErrorKind::UnknownField => write!(f, "JSON object has a key the schema does not name"),
            ErrorKind::TooManyRejects { rejected, read, limit } => {
                write!(f, "{rejected} of {read} rows rejected, more than the limit of {limit}")
            }
            ErrorKind::TooDeep { limit } => write!(
                f,
                "JSON record is nested deeper than {limit} levels (the record itself is level 1); raise --max-depth"
            ),
            ErrorKind::Constraint { constraint } => write!(f, "value violates constraint {constraint}"),
            ErrorKind::Transform { expression, reason } => write!(f, "transform {expression:?} failed: {reason}"),
            ErrorKind::Deadline => write!(
                f,
                "stopped before the deadline: too little time was left to finish; nothing was written, \
                 retryable with more time"
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            if let Some(src) = &self.source_name {
                write!(f, "{src}:")?;
            }
            write!(f, "line {}, byte {}, record {}", loc.line, loc.byte, loc.record)?;
            if let Some(col) = &loc.column {
                write!(f, ", column {col:?}")?;
            }
            write!(f, ": {}", self.kind)?;
            if let Some(v) = &loc.value {
                write!(f, ": {v:?}")?;
            }
            Ok(())
        } else {
            write!(f, "{}", self.kind)
        }
    }
}

impl std::error::Error for Error {}

/// Renders raw bytes for an error message: lossy UTF-8, cut to 200 bytes.
pub(crate) fn show_value(bytes: &[u8]) -> String {
    const MAX_SHOWN: usize = 200; // bytes; enough to recognise a value, short enough for a log line
    let cut = &bytes[..bytes.len().min(MAX_SHOWN)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > MAX_SHOWN {
        s.push('…');
    }
    s
}
