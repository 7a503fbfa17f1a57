//! The pipeline file (TOML): the one place a pipeline is described, shared
//! by the command line and the Lambda handler. Parsing turns it into a
//! [`Spec`] and the budget and error settings beside it; every mistake found
//! is reported with its line and column in the file.
//!
//! ```toml
//! name = "orders"
//! [input]
//! format = "csv"                     # csv | ndjson | json-array
//! schema = "orders.schema.json"      # relative to this file, or inline [[input.columns]]
//! [[transform]]
//! filter = "amount > 0"
//! [[transform]]
//! derive = { total = "amount * quantity" }
//! [output]
//! compression = "zstd"
//! partition_by = ["country"]
//! [errors]
//! policy = "reject"
//! max_rejects = "1%"
//! [budget]
//! memory_mb = 512
//! ```

use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::transform::{Finding, Layout, Place, Placed, Route, Sql, Step};
use super::{parse_type, Compression, CsvOptions, Format, JsonOptions, MaxRejects, OnError, Schema, Spec};
use crate::error::{Error, Result};

/// A parsed pipeline file.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// The pipeline's name (for logs and metrics); default: the file's stem.
    pub name: String,
    pub spec: Spec,
    /// `[budget] memory_mb`.
    pub memory_mb: Option<u64>,
    /// `[budget] threads`.
    pub threads: Option<usize>,
    /// `[output] row_group_rows`.
    pub row_group_rows: Option<usize>,
    /// `[errors] rejects`: the rejects file, relative to the pipeline file.
    pub rejects: Option<PathBuf>,
    /// Whether `[input] format` was given (else the input's name decides).
    pub format_given: bool,
}

impl PipelineFile {
    /// Reads and parses the pipeline file at `path`.
    pub fn from_path(path: &Path) -> Result<PipelineFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "pipeline".into());
        let base = path.parent().unwrap_or(Path::new(""));
        PipelineFile::parse(&text, &name, base).map_err(|found| Error::spec(describe(Some(path), &found)))
    }

    /// The spec for the input named `name`: in the format the file gives,
    /// or, where it gives none, the one the name suggests.
    pub fn spec_for(&self, name: &Path) -> Spec {
        let mut spec = self.spec.clone();
        if !self.format_given {
            spec.format = Format::from_path(name);
        }
        spec
    }

    /// Parses a pipeline file's text; `base` is the directory that relative
    /// paths in it start from. Returns every mistake found.
    pub fn parse(text: &str, default_name: &str, base: &Path) -> std::result::Result<PipelineFile, Vec<Finding>> {
        let lines = Lines::new(text);
        let doc: Doc = toml::from_str(text).map_err(|e| {
            let place = e.span().map(|s| lines.place(s.start));
            vec![Finding::new(place, e.message().trim().to_string())]
        })?;
        let mut found = Vec::new();
        let mut spec = Spec::new(None);
        let input = doc.input.unwrap_or_default();
        if let Some(f) = &input.format {
            match f.get_ref().parse::<Format>() {
                Ok(format) => spec.format = format,
                Err(e) => found.push(Finding::new(Some(lines.place(f.span().start)), spec_message(&e))),
            }
        }
        spec.schema = match (&input.schema, &input.columns) {
            (Some(_), Some(c)) => {
                found.push(Finding::new(
                    Some(lines.place(c.span().start)),
                    "[input] has both `schema` and `columns`; give one",
                ));
                None
            }
            (Some(path), None) => {
                let full = base.join(path.get_ref());
                match Schema::from_path(&full) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        found.push(Finding::new(Some(lines.place(path.span().start)), spec_message(&e)));
                        None
                    }
                }
            }
            (None, Some(columns)) => {
                let json = serde_json::json!({ "columns": columns.get_ref() });
                match Schema::from_json(&json.to_string()) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        found.push(Finding::new(Some(lines.place(columns.span().start)), spec_message(&e)));
                        None
                    }
                }
            }
            (None, None) => None,
        };
        spec.csv = input.csv(&lines, &mut found);
        spec.json = input.json(&lines, &mut found);

        spec.steps = doc.transform.iter().filter_map(|s| step(s, &lines, &mut found)).collect();
        let output = doc.output.unwrap_or_default();
        spec.output.compression = output.compression(&lines, &mut found).unwrap_or(spec.output.compression);
        spec.output.dictionary = output.dictionary.unwrap_or(true);
        spec.output.delta = output.delta.unwrap_or(true);
        spec.output.statistics = output.statistics.unwrap_or(true);
        spec.layout = output.layout(&lines, &mut found);

        let mut else_seen = false;
        for r in &doc.route {
            let place = Some(lines.place(r.span().start));
            let doc = r.get_ref();
            let when = match (&doc.when, doc.otherwise) {
                (Some(w), None | Some(false)) => Some(sql(w, &lines)),
                (None, Some(true)) => None,
                (Some(_), Some(true)) => {
                    found.push(Finding::new(place, format!("route {:?} has both `when` and `else`", doc.name)));
                    continue;
                }
                (None, _) => {
                    found.push(Finding::new(
                        place,
                        format!("route {:?} needs `when = \"PREDICATE\"` or `else = true`", doc.name),
                    ));
                    continue;
                }
            };
            if when.is_none() {
                if else_seen {
                    found.push(Finding::new(place, "only one route may be `else`"));
                }
                else_seen = true;
            } else if else_seen {
                found.push(Finding::new(place, format!("route {:?} comes after the `else` route", doc.name)));
            }
            if !is_plain_name(&doc.name) {
                found.push(Finding::new(
                    place,
                    format!("route name {:?} must be letters, digits, `-` and `_` (it names a directory)", doc.name),
                ));
            }
            if spec.routes.iter().any(|o: &Route| o.name == doc.name) {
                found.push(Finding::new(place, format!("two routes are named {:?}", doc.name)));
            }
            let steps = doc.transform.iter().filter_map(|s| step(s, &lines, &mut found)).collect();
            let layout = match (&doc.partition_by, &doc.max_file_mb) {
                (None, None) => None,
                _ => {
                    let mut own = OutputDoc {
                        partition_by: doc.partition_by.clone(),
                        max_file_mb: doc.max_file_mb.clone(),
                        ..OutputDoc::default()
                    };
                    own.partition_by = own.partition_by.or_else(|| output.partition_by.clone());
                    own.max_file_mb = own.max_file_mb.or_else(|| output.max_file_mb.clone());
                    Some(own.layout(&lines, &mut found))
                }
            };
            spec.routes.push(Route { name: doc.name.clone(), when, steps, layout, place });
        }

        let errors = doc.errors.unwrap_or_default();
        if let Some(p) = &errors.policy {
            match p.get_ref().parse::<OnError>() {
                Ok(policy) => spec.on_error = policy,
                Err(e) => found.push(Finding::new(Some(lines.place(p.span().start)), spec_message(&e))),
            }
        }
        if let Some(m) = &errors.max_rejects {
            let text = match m.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                other => other.to_string(),
            };
            match text.parse::<MaxRejects>() {
                Ok(limit) => spec.max_rejects = Some(limit),
                Err(e) => found.push(Finding::new(Some(lines.place(m.span().start)), spec_message(&e))),
            }
        }
        let budget = doc.budget.unwrap_or_default();
        if budget.memory_mb == Some(0) {
            found.push(Finding::new(None, "[budget] memory_mb must be more than 0"));
        }
        if !found.is_empty() {
            return Err(found);
        }
        Ok(PipelineFile {
            name: doc.name.unwrap_or_else(|| default_name.to_string()),
            spec,
            memory_mb: budget.memory_mb,
            threads: budget.threads,
            row_group_rows: output.row_group_rows,
            rejects: errors.rejects.map(|r| base.join(r)),
            format_given: input.format.is_some(),
        })
    }
}

/// Every finding, one per line, each after the file's name when given.
pub fn describe(path: Option<&Path>, found: &[Finding]) -> String {
    let lines: Vec<String> = found
        .iter()
        .map(|f| match path {
            Some(path) => format!("{}:{f}", path.display()),
            None => f.to_string(),
        })
        .collect();
    lines.join("\n")
}

/// A spec error's message without the `invalid spec:` prefix.
fn spec_message(e: &Error) -> String {
    match e.kind() {
        crate::ErrorKind::Spec(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Names usable as a directory: letters, digits, `-`, `_`, `.` (not first).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Byte offsets to lines and columns.
struct Lines {
    starts: Vec<usize>,
    text: String,
}

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { starts, text: text.to_string() }
    }

    fn place(&self, offset: usize) -> Place {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.text.get(start..offset.min(self.text.len())).map_or(1, |s| s.chars().count() + 1);
        Place { line: line as u64, column: column as u64 }
    }
}

/// An expression string: its place is that of its first character inside
/// the quotes.
fn sql(s: &Spanned<String>, lines: &Lines) -> Sql {
    let mut place = lines.place(s.span().start);
    place.column += 1;
    Sql { text: s.get_ref().clone(), place: Some(place) }
}

/// A `[[transform]]` table: exactly one of its keys.
fn step(s: &Spanned<StepDoc>, lines: &Lines, found: &mut Vec<Finding>) -> Option<Placed> {
    let place = Some(lines.place(s.span().start));
    let d = s.get_ref();
    let mut steps = Vec::new();
    if let Some(cols) = &d.select {
        steps.push(Step::Select(cols.clone()));
    }
    if let Some(cols) = &d.drop {
        steps.push(Step::Drop(cols.clone()));
    }
    if let Some(map) = &d.rename {
        steps.push(Step::Rename(map.0.clone()));
    }
    if let Some(map) = &d.cast {
        let mut casts = Vec::new();
        for (column, type_name) in &map.0 {
            match parse_type(type_name) {
                Ok(t) => casts.push((column.clone(), t)),
                Err(m) => found.push(Finding::new(place, format!("cast of {column:?}: {m}"))),
            }
        }
        steps.push(Step::Cast(casts));
    }
    if let Some(f) = &d.filter {
        steps.push(Step::Filter(sql(f, lines)));
    }
    if let Some(map) = &d.derive {
        steps.push(Step::Derive(map.0.iter().map(|(name, e)| (name.clone(), sql(e, lines))).collect()));
    }
    if let Some(map) = &d.fill_null {
        let mut fills = Vec::new();
        for (column, value) in &map.0 {
            match value {
                toml::Value::String(s) => fills.push((column.clone(), s.clone())),
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    fills.push((column.clone(), value.to_string()))
                }
                toml::Value::Datetime(d) => fills.push((column.clone(), d.to_string())),
                _ => found.push(Finding::new(place, format!("fill_null of {column:?}: the value must be a scalar"))),
            }
        }
        steps.push(Step::FillNull(fills));
    }
    match steps.len() {
        1 => steps.pop().map(|step| Placed { step, place }),
        n => {
            let names: Vec<&str> = steps.iter().map(Step::name).collect();
            let what = if n == 0 { "none".to_string() } else { names.join(", ") };
            found.push(Finding::new(
                place,
                format!(
                    "a [[transform]] holds exactly one of select, drop, rename, cast, filter, derive, fill_null \
                     (found: {what})"
                ),
            ));
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: Option<String>,
    input: Option<InputDoc>,
    #[serde(default)]
    transform: Vec<Spanned<StepDoc>>,
    output: Option<OutputDoc>,
    errors: Option<ErrorsDoc>,
    budget: Option<BudgetDoc>,
    #[serde(default)]
    route: Vec<Spanned<RouteDoc>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InputDoc {
    format: Option<Spanned<String>>,
    schema: Option<Spanned<String>>,
    columns: Option<Spanned<Vec<toml::Value>>>,
    delimiter: Option<Spanned<String>>,
    quote: Option<Spanned<String>>,
    escape: Option<Spanned<String>>,
    header: Option<bool>,
    null: Option<Vec<String>>,
    unknown_fields: Option<Spanned<String>>,
    max_depth: Option<usize>,
    flatten: Option<bool>,
}

impl InputDoc {
    fn csv(&self, lines: &Lines, found: &mut Vec<Finding>) -> CsvOptions {
        let mut o = CsvOptions::default();
        let mut byte = |key: &str, v: &Spanned<String>| match v.get_ref().as_str() {
            "\\t" | "tab" | "\t" => Some(b'\t'),
            s if s.len() == 1 => Some(s.as_bytes()[0]),
            s => {
                found.push(Finding::new(
                    Some(lines.place(v.span().start)),
                    format!("{key} must be one ASCII character, not {s:?}"),
                ));
                None
            }
        };
        if let Some(b) = self.delimiter.as_ref().and_then(|d| byte("delimiter", d)) {
            o.delimiter = b;
        }
        if let Some(b) = self.quote.as_ref().and_then(|d| byte("quote", d)) {
            o.quote = b;
        }
        o.escape = self.escape.as_ref().and_then(|d| byte("escape", d));
        o.has_header = self.header.unwrap_or(true);
        if let Some(n) = &self.null {
            o.null_markers = n.clone();
        }
        o
    }

    fn json(&self, lines: &Lines, found: &mut Vec<Finding>) -> JsonOptions {
        let mut o = JsonOptions::default();
        if let Some(u) = &self.unknown_fields {
            match u.get_ref().as_str() {
                "ignore" => o.unknown_fields_are_errors = false,
                "error" => o.unknown_fields_are_errors = true,
                other => found.push(Finding::new(
                    Some(lines.place(u.span().start)),
                    format!("unknown_fields must be ignore or error, not {other:?}"),
                )),
            }
        }
        if let Some(d) = self.max_depth {
            o.max_depth = d;
        }
        o.flatten = self.flatten.unwrap_or(false);
        o
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDoc {
    select: Option<Vec<String>>,
    drop: Option<Vec<String>>,
    rename: Option<Ordered<String>>,
    cast: Option<Ordered<String>>,
    filter: Option<Spanned<String>>,
    derive: Option<Ordered<Spanned<String>>>,
    fill_null: Option<Ordered<toml::Value>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct OutputDoc {
    compression: Option<Spanned<String>>,
    dictionary: Option<bool>,
    delta: Option<bool>,
    statistics: Option<bool>,
    row_group_rows: Option<usize>,
    partition_by: Option<Vec<String>>,
    max_file_mb: Option<Spanned<f64>>,
}

impl OutputDoc {
    fn compression(&self, lines: &Lines, found: &mut Vec<Finding>) -> Option<Compression> {
        let c = self.compression.as_ref()?;
        match c.get_ref().parse::<Compression>() {
            Ok(c) => Some(c),
            Err(e) => {
                found.push(Finding::new(Some(lines.place(c.span().start)), spec_message(&e)));
                None
            }
        }
    }

    fn layout(&self, lines: &Lines, found: &mut Vec<Finding>) -> Layout {
        let max_file_bytes = match &self.max_file_mb {
            Some(mb) if !(*mb.get_ref() > 0.0 && mb.get_ref().is_finite()) => {
                found.push(Finding::new(Some(lines.place(mb.span().start)), "max_file_mb must be more than 0"));
                None
            }
            Some(mb) => Some((mb.get_ref() * 1e6) as u64),
            None => None,
        };
        Layout { partition_by: self.partition_by.clone().unwrap_or_default(), max_file_bytes }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ErrorsDoc {
    policy: Option<Spanned<String>>,
    max_rejects: Option<Spanned<toml::Value>>,
    rejects: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BudgetDoc {
    memory_mb: Option<u64>,
    threads: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteDoc {
    name: String,
    when: Option<Spanned<String>>,
    #[serde(rename = "else")]
    otherwise: Option<bool>,
    #[serde(default)]
    transform: Vec<Spanned<StepDoc>>,
    partition_by: Option<Vec<String>>,
    max_file_mb: Option<Spanned<f64>>,
}

/// A TOML table read as (key, value) pairs in the order written.
struct Ordered<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Pairs<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Pairs<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Ordered<V>, A::Error> {
                let mut pairs = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    pairs.push((k, v));
                }
                Ok(Ordered(pairs))
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<PipelineFile, Vec<Finding>> {
        PipelineFile::parse(text, "p", Path::new(""))
    }

    #[test]
    fn reads_the_whole_file() {
        let p = parse(
            r#"
name = "orders"
[input]
format = "csv"
delimiter = ";"
[[input.columns]]
name = "amount"
type = "decimal(10,2)"
[[input.columns]]
name = "country"
type = "string"

[[transform]]
filter = "amount > 0 AND country IS NOT NULL"
[[transform]]
derive = { total = "amount * 2", b = "total + 1" }
[[transform]]
rename = { country = "cc" }

[output]
compression = "zstd"
delta = false
partition_by = ["cc"]
max_file_mb = 128

[errors]
policy = "fail"
max_rejects = "1%"

[budget]
memory_mb = 512

[[route]]
name = "large"
when = "total >= 1000"
[[route]]
name = "rest"
else = true
"#,
        )
        .unwrap();
        assert_eq!(p.name, "orders");
        assert_eq!(p.spec.csv.delimiter, b';');
        assert_eq!(p.spec.schema.as_ref().unwrap().columns.len(), 2);
        assert_eq!(p.spec.steps.len(), 3);
        let Step::Derive(d) = &p.spec.steps[1].step else { panic!("{:?}", p.spec.steps[1]) };
        assert_eq!(d.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["total", "b"]);
        assert_eq!(d[0].1.place, Some(Place { line: 16, column: 21 }));
        assert_eq!(p.spec.steps[0].place.unwrap().line, 13);
        assert_eq!(p.spec.output.compression, Compression::Zstd(3));
        assert!(!p.spec.output.delta && p.spec.output.dictionary);
        assert_eq!(p.spec.layout.partition_by, ["cc"]);
        assert_eq!(p.spec.layout.max_file_bytes, Some(128_000_000));
        assert_eq!(p.spec.on_error, OnError::Fail);
        assert_eq!(p.spec.max_rejects, Some(MaxRejects::Fraction(0.01)));
        assert_eq!(p.memory_mb, Some(512));
        assert_eq!(p.spec.routes.len(), 2);
        assert!(p.spec.routes[1].when.is_none());
    }

    #[test]
    fn reports_every_mistake_with_its_place() {
        let found = parse(
            "[input]\nformat = \"xml\"\n[[transform]]\nselect = [\"a\"]\ndrop = [\"b\"]\n[errors]\npolicy = \"skip\"\n",
        )
        .unwrap_err();
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 3, "{shown:?}");
        assert!(shown[0].starts_with("2:10: unknown format"), "{shown:?}");
        assert!(shown[1].starts_with("3:1: a [[transform]] holds exactly one") && shown[1].contains("select, drop"));
        assert!(shown[2].starts_with("7:10: unknown error policy"), "{shown:?}");
    }

    #[test]
    fn unknown_keys_and_bad_toml_are_placed() {
        let found = parse("[output]\ncompresion = \"zstd\"\n").unwrap_err();
        assert_eq!(found[0].place.map(|p| p.line), Some(2), "{found:?}");
        assert!(found[0].message.contains("compresion"), "{found:?}");
        let found = parse("[input\n").unwrap_err();
        assert_eq!(found[0].place.map(|p| p.line), Some(1), "{found:?}");
    }

    #[test]
    fn routes_are_checked() {
        let found = parse("[[route]]\nname = \"a b\"\nelse = true\n[[route]]\nname = \"x\"\nwhen = \"true\"\n[[route]]\nname = \"y\"\n")
            .unwrap_err();
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 3, "{shown:?}");
        assert!(shown[0].contains("must be letters"), "{shown:?}");
        assert!(shown[1].contains("after the `else` route"), "{shown:?}");
        assert!(shown[2].contains("needs `when"), "{shown:?}");
    }
}
