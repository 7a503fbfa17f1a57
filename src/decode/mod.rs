//! Chunk bytes to Arrow arrays, straight into typed builders. One file per
//! input format; the typed builders and the value parsers are shared.

mod csv;
mod fields;
mod flat;
mod json;
mod primitive;
mod text;
pub mod value;

use std::sync::Arc;

use arrow_array::builder::BooleanBuilder;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{ArrayRef, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

pub(crate) use self::csv::first_line;
pub(crate) use self::csv::{trim_line_end, LineCursor};
pub use self::csv::{CsvDecoder, Scratch};
pub use self::json::{Framing, JsonDecoder};
use self::primitive::PrimitiveValues;
use self::text::TextBuilder;
use self::value::TimestampParser;
use crate::error::Reject;
use crate::spec::Column;

/// Why one field could not be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldError {
    Parse,
    Utf8,
}

/// A decoded chunk: its good rows, and the records set aside.
#[derive(Debug)]
pub struct Decoded {
    pub batch: RecordBatch,
    /// In input order; record indexes relative to the chunk.
    pub rejects: Vec<Reject>,
    /// Data records read (written and rejected).
    pub records: u64,
    /// Values made null under the null policy.
    pub nulled: u64,
    /// Per row of the batch, where its record is in the chunk (filled
    /// only when the decoder was asked to, for checks after decoding).
    pub origins: Vec<Origin>,
    /// The rejected records' rows, one per entry of `rejects`, their bad
    /// values null: for the constraint checks after decoding, which add
    /// what else is wrong with a rejected row. Only from the CSV decoder,
    /// and only when it was asked for origins.
    pub rejected: Option<RecordBatch>,
}

/// `columns` without the rows whose `keep` entry is false (rejected rows).
pub(crate) fn keep_rows(columns: Vec<ArrayRef>, keep: Vec<bool>) -> crate::Result<Vec<ArrayRef>> {
    if !keep.contains(&false) {
        return Ok(columns);
    }
    filter_rows(&columns, &arrow_array::BooleanArray::from(keep))
}

/// The rows of `columns` where `mask` is true.
pub(crate) fn filter_rows(columns: &[ArrayRef], mask: &arrow_array::BooleanArray) -> crate::Result<Vec<ArrayRef>> {
    columns.iter().map(|c| arrow_select::filter::filter(c, mask).map_err(crate::Error::encode)).collect()
}

/// Where a decoded row came from: its record's bytes in the chunk and its
/// index among the chunk's records.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub start: u32,
    pub end: u32,
    pub record: u32,
}

/// Why a value could not be appended to a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellError {
    /// Null where the column is not nullable.
    Null,
    Invalid(FieldError),
}

/// A typed builder for one column, fed field bytes.
pub(crate) enum ColumnBuilder {
    Bool(BooleanBuilder),
    I8(PrimitiveValues<Int8Type>),
    I16(PrimitiveValues<Int16Type>),
    I32(PrimitiveValues<Int32Type>),
    I64(PrimitiveValues<Int64Type>),
    U8(PrimitiveValues<UInt8Type>),
    U16(PrimitiveValues<UInt16Type>),
    U32(PrimitiveValues<UInt32Type>),
    U64(PrimitiveValues<UInt64Type>),
    F32(PrimitiveValues<Float32Type>),
    F64(PrimitiveValues<Float64Type>),
    Str(TextBuilder),
    Decimal {
        builder: PrimitiveValues<Decimal128Type>,
        precision: u8,
        scale: i8,
    },
    Date {
        builder: PrimitiveValues<Date32Type>,
        format: Option<String>,
    },
    /// Values in `unit` since the epoch, typed by unit when finished.
    Timestamp {
        builder: PrimitiveValues<Int64Type>,
        parser: TimestampParser,
        unit: TimeUnit,
        tz: Option<Arc<str>>,
    },
}

impl ColumnBuilder {
    /// A builder for `column` with room for `rows` values and, for strings,
    /// `bytes` bytes of text.
    pub(crate) fn new(column: &Column, rows: usize, bytes: usize) -> Self {
        match &column.data_type {
            DataType::Boolean => ColumnBuilder::Bool(BooleanBuilder::with_capacity(rows)),
            DataType::Int8 => ColumnBuilder::I8(PrimitiveValues::with_capacity(rows)),
            DataType::Int16 => ColumnBuilder::I16(PrimitiveValues::with_capacity(rows)),
            DataType::Int32 => ColumnBuilder::I32(PrimitiveValues::with_capacity(rows)),
            DataType::Int64 => ColumnBuilder::I64(PrimitiveValues::with_capacity(rows)),
            DataType::UInt8 => ColumnBuilder::U8(PrimitiveValues::with_capacity(rows)),
            DataType::UInt16 => ColumnBuilder::U16(PrimitiveValues::with_capacity(rows)),
            DataType::UInt32 => ColumnBuilder::U32(PrimitiveValues::with_capacity(rows)),
            DataType::UInt64 => ColumnBuilder::U64(PrimitiveValues::with_capacity(rows)),
            DataType::Float32 => ColumnBuilder::F32(PrimitiveValues::with_capacity(rows)),
            DataType::Float64 => ColumnBuilder::F64(PrimitiveValues::with_capacity(rows)),
            DataType::Utf8 => ColumnBuilder::Str(TextBuilder::with_capacity(rows, bytes)),
            DataType::Decimal128(p, s) => {
                ColumnBuilder::Decimal { builder: PrimitiveValues::with_capacity(rows), precision: *p, scale: *s }
            }
            DataType::Date32 => {
                ColumnBuilder::Date { builder: PrimitiveValues::with_capacity(rows), format: column.format.clone() }
            }
            DataType::Timestamp(unit, tz) => ColumnBuilder::Timestamp {
                builder: PrimitiveValues::with_capacity(rows),
                parser: TimestampParser::new(*unit, tz.as_deref(), column.format.clone()),
                unit: *unit,
                tz: tz.clone(),
            },
            other => unreachable!("nested {other} columns have builders of their own"),
        }
    }

    /// Appends one value. `utf8_checked` says the bytes are already known to
    /// be UTF-8 (the whole chunk was validated at once).
    #[inline]
    pub(crate) fn append(&mut self, s: &[u8], utf8_checked: bool) -> Result<(), FieldError> {
        use self::value::{parse_bool, parse_date, parse_decimal, parse_float, parse_int};
        macro_rules! push {
            ($b:expr, $v:expr) => {{
                $b.append_value($v.ok_or(FieldError::Parse)?);
                Ok(())
            }};
        }
        match self {
            ColumnBuilder::Bool(b) => push!(b, parse_bool(s)),
            ColumnBuilder::I8(b) => push!(b, parse_int(s)),
            ColumnBuilder::I16(b) => push!(b, parse_int(s)),
            ColumnBuilder::I32(b) => push!(b, parse_int(s)),
            ColumnBuilder::I64(b) => push!(b, parse_int(s)),
            ColumnBuilder::U8(b) => push!(b, parse_int(s)),
            ColumnBuilder::U16(b) => push!(b, parse_int(s)),
            ColumnBuilder::U32(b) => push!(b, parse_int(s)),
            ColumnBuilder::U64(b) => push!(b, parse_int(s)),
            ColumnBuilder::F32(b) => push!(b, parse_float(s)),
            ColumnBuilder::F64(b) => push!(b, parse_float(s)),
            ColumnBuilder::Str(b) => {
                let text = if utf8_checked {
                    // SAFETY: the caller validated the text the field is cut from,
                    // and fields are cut at ASCII bytes (delimiter, quote,
                    // line break), never inside a multi-byte character.
                    unsafe { std::str::from_utf8_unchecked(s) }
                } else {
                    simdutf8::basic::from_utf8(s).map_err(|_| FieldError::Utf8)?
                };
                b.append_value(text);
                Ok(())
            }
            ColumnBuilder::Decimal { builder, precision, scale } => {
                push!(builder, parse_decimal(s, *precision, *scale))
            }
            ColumnBuilder::Date { builder, format } => push!(builder, parse_date(s, format.as_deref())),
            ColumnBuilder::Timestamp { builder, parser, .. } => push!(builder, parser.parse(s)),
        }
    }

    /// Appends `cells` in order, with one loop per column type. A `None`
    /// cell is a placeholder null (its row is dropped later). A cell that is
    /// null where the column is not nullable, or that does not parse, goes
    /// to `on_error` with its index: `true` appends a null in its place and
    /// goes on, `false` stops.
    #[inline]
    pub(crate) fn append_all<'a>(
        &mut self,
        cells: impl Iterator<Item = Option<&'a [u8]>>,
        is_null: impl Fn(&[u8]) -> bool,
        nullable: bool,
        utf8_checked: bool,
        mut on_error: impl FnMut(usize, CellError, &[u8]) -> bool,
    ) {
        use self::value::{parse_bool, parse_date, parse_decimal, parse_float, parse_int};
        macro_rules! each {
            ($b:expr, |$s:ident| $parse:expr) => {{
                for (i, cell) in cells.enumerate() {
                    let Some($s) = cell else {
                        $b.append_null();
                        continue;
                    };
                    let failed = if is_null($s) {
                        if nullable {
                            $b.append_null();
                            continue;
                        }
                        CellError::Null
                    } else {
                        match $parse {
                            Ok(v) => {
                                $b.append_value(v);
                                continue;
                            }
                            Err(e) => CellError::Invalid(e),
                        }
                    };
                    if !on_error(i, failed, $s) {
                        return;
                    }
                    $b.append_null();
                }
            }};
        }
        match self {
            ColumnBuilder::Bool(b) => each!(b, |s| parse_bool(s).ok_or(FieldError::Parse)),
            ColumnBuilder::I8(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::I16(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::I32(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::I64(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::U8(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::U16(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::U32(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::U64(b) => each!(b, |s| parse_int(s).ok_or(FieldError::Parse)),
            ColumnBuilder::F32(b) => each!(b, |s| parse_float(s).ok_or(FieldError::Parse)),
            ColumnBuilder::F64(b) => each!(b, |s| parse_float(s).ok_or(FieldError::Parse)),
            // SAFETY: the caller validated the text the fields are cut from, and
            // fields are cut at ASCII bytes (delimiter, quote, line break),
            // never inside a multi-byte character.
            ColumnBuilder::Str(b) if utf8_checked => {
                each!(b, |s| Ok::<_, FieldError>(unsafe { std::str::from_utf8_unchecked(s) }))
            }
            ColumnBuilder::Str(b) => each!(b, |s| simdutf8::basic::from_utf8(s).map_err(|_| FieldError::Utf8)),
            ColumnBuilder::Decimal { builder, precision, scale } => {
                let (p, sc) = (*precision, *scale);
                each!(builder, |s| parse_decimal(s, p, sc).ok_or(FieldError::Parse))
            }
            ColumnBuilder::Date { builder, format } => {
                let format = format.as_deref();
                each!(builder, |s| parse_date(s, format).ok_or(FieldError::Parse))
            }
            ColumnBuilder::Timestamp { builder, parser, .. } => {
                each!(builder, |s| parser.parse(s).ok_or(FieldError::Parse))
            }
        }
    }

    /// The bytes of text appended so far (0 outside text columns).
    pub(crate) fn text_len(&self) -> usize {
        match self {
            ColumnBuilder::Str(b) => b.values_slice().len(),
            _ => 0,
        }
    }

    pub(crate) fn append_null(&mut self) {
        match self {
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::I8(b) => b.append_null(),
            ColumnBuilder::I16(b) => b.append_null(),
            ColumnBuilder::I32(b) => b.append_null(),
            ColumnBuilder::I64(b) => b.append_null(),
            ColumnBuilder::U8(b) => b.append_null(),
            ColumnBuilder::U16(b) => b.append_null(),
            ColumnBuilder::U32(b) => b.append_null(),
            ColumnBuilder::U64(b) => b.append_null(),
            ColumnBuilder::F32(b) => b.append_null(),
            ColumnBuilder::F64(b) => b.append_null(),
            ColumnBuilder::Str(b) => b.append_null(),
            ColumnBuilder::Decimal { builder, .. } => builder.append_null(),
            ColumnBuilder::Date { builder, .. } => builder.append_null(),
            ColumnBuilder::Timestamp { builder, .. } => builder.append_null(),
        }
    }

    pub(crate) fn finish(self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(mut b) => Arc::new(b.finish()),
            ColumnBuilder::I8(b) => Arc::new(b.finish()),
            ColumnBuilder::I16(b) => Arc::new(b.finish()),
            ColumnBuilder::I32(b) => Arc::new(b.finish()),
            ColumnBuilder::I64(b) => Arc::new(b.finish()),
            ColumnBuilder::U8(b) => Arc::new(b.finish()),
            ColumnBuilder::U16(b) => Arc::new(b.finish()),
            ColumnBuilder::U32(b) => Arc::new(b.finish()),
            ColumnBuilder::U64(b) => Arc::new(b.finish()),
            ColumnBuilder::F32(b) => Arc::new(b.finish()),
            ColumnBuilder::F64(b) => Arc::new(b.finish()),
            ColumnBuilder::Str(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal { builder, precision, scale } => Arc::new(
                builder
                    .finish()
                    .with_precision_and_scale(precision, scale)
                    .expect("the schema checked precision and scale"),
            ),
            ColumnBuilder::Date { builder, .. } => Arc::new(builder.finish()),
            ColumnBuilder::Timestamp { builder, unit, tz, .. } => {
                let (values, nulls) = builder.into_parts();
                match unit {
                    TimeUnit::Second => {
                        Arc::new(PrimitiveArray::<TimestampSecondType>::new(values, nulls).with_timezone_opt(tz))
                    }
                    TimeUnit::Millisecond => {
                        Arc::new(PrimitiveArray::<TimestampMillisecondType>::new(values, nulls).with_timezone_opt(tz))
                    }
                    TimeUnit::Microsecond => {
                        Arc::new(PrimitiveArray::<TimestampMicrosecondType>::new(values, nulls).with_timezone_opt(tz))
                    }
                    TimeUnit::Nanosecond => {
                        Arc::new(PrimitiveArray::<TimestampNanosecondType>::new(values, nulls).with_timezone_opt(tz))
                    }
                }
            }
        }
    }
}
