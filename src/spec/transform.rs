//! The transform stage's spec: steps applied to each batch in order,
//! routes to named outputs, and the output layout. Plain data;
//! [`crate::transform`] compiles it against the schema.

use std::fmt;

use arrow_schema::DataType;

/// Where something is written in a pipeline file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A SQL expression and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sql {
    pub text: String,
    pub place: Option<Place>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql { text: text.into(), place: None }
    }
}

/// One transform, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep these columns, in this order.
    Select(Vec<String>),
    /// Remove these columns.
    Drop(Vec<String>),
    /// Rename columns: (old name, new name).
    Rename(Vec<(String, String)>),
    /// Change columns' types: text is parsed by the input's rules, other
    /// types are converted (a value that does not convert is a bad row).
    Cast(Vec<(String, DataType)>),
    /// Keep the rows for which the expression is true; the others are
    /// counted as filtered (not rejected).
    Filter(Sql),
    /// New or replaced columns, each from an expression over the columns as
    /// they are before it (so a later one may use an earlier one).
    Derive(Vec<(String, Sql)>),
    /// Replace nulls with a value, written as an input field would be.
    FillNull(Vec<(String, String)>),
}

impl Step {
    /// The step's key in a pipeline file.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Select(_) => "select",
            Step::Drop(_) => "drop",
            Step::Rename(_) => "rename",
            Step::Cast(_) => "cast",
            Step::Filter(_) => "filter",
            Step::Derive(_) => "derive",
            Step::FillNull(_) => "fill_null",
        }
    }
}

/// A step and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub step: Step,
    pub place: Option<Place>,
}

impl From<Step> for Placed {
    fn from(step: Step) -> Self {
        Placed { step, place: None }
    }
}

/// A named output that takes the rows its predicate accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    /// The predicate; `None` takes every row no earlier route took (`else`).
    pub when: Option<Sql>,
    /// Steps applied to this route's rows only, after the pipeline's own.
    pub steps: Vec<Placed>,
    /// This route's layout, where it differs from the pipeline's.
    pub layout: Option<Layout>,
    pub place: Option<Place>,
}

/// How output files are laid out under the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    /// Hive-style partition columns: `country=FR/order_date=2024-05-12/`.
    /// The columns are in the path, not in the files.
    pub partition_by: Vec<String>,
    /// Roll to a new file once one reaches this size. Default: no limit.
    pub max_file_bytes: Option<u64>,
}

impl Layout {
    /// Whether this layout needs an output directory rather than one file.
    pub fn is_directory(&self) -> bool {
        !self.partition_by.is_empty() || self.max_file_bytes.is_some()
    }
}

/// A mistake in a pipeline, found before any data is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub place: Option<Place>,
    pub message: String,
}

impl Finding {
    pub fn new(place: Option<Place>, message: impl Into<String>) -> Self {
        Finding { place, message: message.into() }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}
