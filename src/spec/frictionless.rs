//! Frictionless Table Schema types, mapped to Arrow types.
//!
//! A schema file whose `fields` all have Frictionless type names (or no
//! type, which Frictionless reads as `string`) is read as a Table Schema.
//! `integer`, `boolean`, `date` and `string` mean the same in both
//! spellings; `number`, `datetime`, `year` and the rest only in Frictionless.

use arrow_schema::{DataType, TimeUnit};

/// Every type name the Table Schema specification defines.
const TYPES: &[&str] = &[
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "time",
    "year",
    "yearmonth",
    "duration",
    "geopoint",
    "geojson",
    "object",
    "array",
    "list",
    "any",
];

/// Whether `name` is a Frictionless type name.
pub(crate) fn is_type(name: &str) -> bool {
    TYPES.contains(&name)
}

/// The Arrow type, and the chrono format if any, of a field with the
/// Frictionless `type_name` (default `string`) and `format`.
pub(crate) fn column_type(type_name: Option<&str>, format: Option<&str>) -> Result<(DataType, Option<String>), String> {
    let type_name = type_name.unwrap_or("string");
    let data_type = match type_name {
        "string" => DataType::Utf8,
        "integer" => DataType::Int64,
        "number" => DataType::Float64,
        "boolean" => DataType::Boolean,
        "date" => DataType::Date32,
        "datetime" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "year" => DataType::Int32,
        other => {
            return Err(format!(
                "the Frictionless type {other:?} has no Arrow mapping in sluicegate \
                 (supported: string, integer, number, boolean, date, datetime, year)"
            ))
        }
    };
    let format = match (format, &data_type) {
        (None | Some("default"), _) => None,
        // Python strptime patterns, which chrono reads the same for the common directives.
        (Some(f), DataType::Date32 | DataType::Timestamp(..)) if f.contains('%') => Some(f.to_string()),
        // Formats that constrain a string's lexical form but not how it is stored.
        (Some("email" | "uri" | "uuid" | "binary"), DataType::Utf8) => None,
        (Some(f), _) => {
            return Err(format!(
                "format {f:?} of a Frictionless {type_name} field is not supported \
                 (dates and datetimes take \"default\" or a %-pattern such as \"%d/%m/%Y\")"
            ))
        }
    };
    Ok((data_type, format))
}
