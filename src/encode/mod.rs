//! `RecordBatch` to encoded Parquet column chunks, in the worker, so that the
//! single ordered writer only appends bytes.
//!
//! Dictionary encoding is decided per column and per chunk from a sample:
//! a column whose first values repeat too little for a dictionary to make
//! it smaller (ids, e-mails, most order numbers) is written plain, since
//! building a dictionary for it costs a hash per value and saves nothing.
//! Every other column keeps parquet's dictionary with its own size
//! fallback.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression as PqCompression, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::spec::{Compression, ParquetOptions};

/// Values sampled per column and chunk to decide on dictionary encoding.
const DICTIONARY_SAMPLE: usize = 4096;
/// A column is dictionary-encoded when a dictionary over its sample takes
/// at most this share of the plain bytes (percent).
const DICTIONARY_MAX_SIZE_PERCENT: usize = 90;

/// One row group, encoded and ready to append.
pub struct EncodedRowGroup {
    pub rows: usize,
    pub columns: Vec<ArrowColumnChunk>,
}

/// Encodes batches into row groups for one file's schema and properties.
pub struct Encoder {
    schema: SchemaRef,
    options: ParquetOptions,
    row_group_rows: usize,
    /// Column writer factories by dictionary choice (bit `i`: column `i` uses one).
    factories: Mutex<HashMap<u64, Arc<ArrowRowGroupWriterFactory>>>,
}

impl Encoder {
    pub(crate) fn new(schema: SchemaRef, options: ParquetOptions, row_group_rows: usize) -> Self {
        Encoder { schema, options, row_group_rows: row_group_rows.max(1), factories: Mutex::new(HashMap::new()) }
    }

    /// Encodes a batch as one row group, or several when it has more rows
    /// than a row group may hold.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Vec<EncodedRowGroup>> {
        let mut groups = Vec::with_capacity(batch.num_rows().div_ceil(self.row_group_rows).max(1));
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = self.row_group_rows.min(batch.num_rows() - offset);
            groups.push(self.encode_group(&batch.slice(offset, len))?);
            offset += len;
        }
        Ok(groups)
    }

    fn encode_group(&self, batch: &RecordBatch) -> Result<EncodedRowGroup> {
        let factory = self.factory(self.dictionary_mask(batch))?;
        // The row-group index only matters to encryption, which is not used.
        let mut writers = factory.create_column_writers(0).map_err(Error::encode)?;
        let mut leaves = writers.iter_mut();
        for (field, array) in self.schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, array).map_err(Error::encode)? {
                let writer = leaves.next().ok_or_else(|| Error::encode("more leaves than column writers"))?;
                writer.write(&leaf).map_err(Error::encode)?;
            }
        }
        let columns = writers.into_iter().map(|w| w.close().map_err(Error::encode)).collect::<Result<_>>()?;
        Ok(EncodedRowGroup { rows: batch.num_rows(), columns })
    }

    fn dictionary_mask(&self, batch: &RecordBatch) -> u64 {
        if !self.options.dictionary {
            return 0;
        }
        let mut mask = 0u64;
        for (i, array) in batch.columns().iter().enumerate().take(64) {
            if worth_a_dictionary(array.as_ref()) {
                mask |= 1 << i;
            }
        }
        mask
    }

    fn factory(&self, mask: u64) -> Result<Arc<ArrowRowGroupWriterFactory>> {
        let mut cache = self.factories.lock().expect("no panics while the factory cache is held");
        if let Some(f) = cache.get(&mask) {
            return Ok(Arc::clone(f));
        }
        let mut props = properties_builder(&self.options)?;
        for (i, field) in self.schema.fields().iter().enumerate() {
            let on = self.options.dictionary && (i >= 64 || mask & (1 << i) != 0);
            props = props.set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), on);
        }
        // Column writers take their properties from a file writer; this one
        // writes nowhere and only lends them. Its chunks are appended to the
        // real file by the sink.
        let parquet_schema = ArrowSchemaConverter::new().convert(&self.schema).map_err(Error::encode)?;
        let lender =
            SerializedFileWriter::new(std::io::sink(), parquet_schema.root_schema_ptr(), Arc::new(props.build()))
                .map_err(Error::encode)?;
        let factory = Arc::new(ArrowRowGroupWriterFactory::new(&lender, Arc::clone(&self.schema)));
        cache.insert(mask, Arc::clone(&factory));
        Ok(factory)
    }
}

/// Whether a dictionary would make the column smaller, judged on its first
/// values.
fn worth_a_dictionary(array: &dyn Array) -> bool {
    fn prim<T: ArrowPrimitiveType>(a: &dyn Array, width: usize) -> bool
    where
        T::Native: ToBits,
    {
        let a = a.as_primitive::<T>();
        let (distinct, sampled) = count_distinct(a.iter().flatten().take(DICTIONARY_SAMPLE).map(ToBits::to_bits));
        dictionary_pays(distinct, sampled, width)
    }
    match array.data_type() {
        DataType::Boolean => true,
        DataType::Utf8 => {
            // A plain value is its bytes and a 4-byte length.
            let mut bytes = 0;
            let values = array.as_string::<i32>().iter().flatten().take(DICTIONARY_SAMPLE);
            let (distinct, sampled) = count_distinct(values.inspect(|v| bytes += v.len()));
            dictionary_pays(distinct, sampled, 4 + bytes / sampled.max(1))
        }
        // Widths are Parquet's physical ones: small integers are INT32.
        DataType::Int8 => prim::<Int8Type>(array, 4),
        DataType::Int16 => prim::<Int16Type>(array, 4),
        DataType::Int32 => prim::<Int32Type>(array, 4),
        DataType::Int64 => prim::<Int64Type>(array, 8),
        DataType::UInt8 => prim::<UInt8Type>(array, 4),
        DataType::UInt16 => prim::<UInt16Type>(array, 4),
        DataType::UInt32 => prim::<UInt32Type>(array, 4),
        DataType::UInt64 => prim::<UInt64Type>(array, 8),
        DataType::Float32 => prim::<Float32Type>(array, 4),
        DataType::Float64 => prim::<Float64Type>(array, 8),
        DataType::Date32 => prim::<Date32Type>(array, 4),
        DataType::Decimal128(p, _) => prim::<Decimal128Type>(array, decimal_width(*p)),
        DataType::Timestamp(TimeUnit::Second, _) => prim::<TimestampSecondType>(array, 8),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim::<TimestampMillisecondType>(array, 8),
        DataType::Timestamp(TimeUnit::Microsecond, _) => prim::<TimestampMicrosecondType>(array, 8),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => prim::<TimestampNanosecondType>(array, 8),
        _ => true,
    }
}

/// Bytes per plain value of a decimal: INT32 up to 9 digits, INT64 up to
/// 18, else a 16-byte fixed-length array.
fn decimal_width(precision: u8) -> usize {
    match precision {
        0..=9 => 4,
        10..=18 => 8,
        _ => 16,
    }
}

/// Distinct values among `values` (estimated) and values seen.
///
/// Linear counting: each value's hash sets one bit of a [`SKETCH_BITS`]-bit
/// map, and the share of bits left clear gives the distinct count. For the
/// 4,096 values sampled, its error is about 0.3%, and it costs a hash and a
/// bit per value, where a hash set cost a probe, a compare and a growing
/// table for each of the sample's values in every column of every chunk.
fn count_distinct<T: Hash>(values: impl Iterator<Item = T>) -> (usize, usize) {
    let mut bits = [0u64; SKETCH_BITS / 64];
    // A fixed seed: the same input gets the same encodings on every run.
    let state = foldhash::fast::FixedState::with_seed(0);
    let mut n = 0;
    for v in values {
        let slot = (state.hash_one(v) >> (64 - SKETCH_BITS.trailing_zeros())) as usize;
        bits[slot / 64] |= 1 << (slot % 64);
        n += 1;
    }
    let set: usize = bits.iter().map(|w| w.count_ones() as usize).sum();
    let (m, clear) = (SKETCH_BITS as f64, (SKETCH_BITS - set) as f64);
    let distinct = (m * (m / clear).ln()).round() as usize;
    (distinct.min(n), n)
}

/// Bits of the distinct-count sketch: 16 times the sample, 8 KiB. A power
/// of two, so that a hash's top bits pick the bit.
const SKETCH_BITS: usize = 16 * DICTIONARY_SAMPLE;
const _: () = assert!(SKETCH_BITS.is_power_of_two());

/// Whether a dictionary over the sample (its distinct values once, then a
/// bit-packed index per value) would take at most
/// [`DICTIONARY_MAX_SIZE_PERCENT`] of the plain values' bytes. A column
/// repeats at least as much over a whole chunk as over its first values,
/// so the sample errs towards plain. Building a dictionary costs a hash per
/// value, and one that saves nothing (an id column where most values are
/// new) is slower to write and larger to read.
fn dictionary_pays(distinct: usize, sampled: usize, width: usize) -> bool {
    if sampled == 0 {
        return true;
    }
    let index_bits = (usize::BITS - distinct.leading_zeros()) as usize;
    let dictionary = distinct * width + (sampled * index_bits).div_ceil(8);
    dictionary * 100 <= sampled * width * DICTIONARY_MAX_SIZE_PERCENT
}

/// A hashable image of a value (floats by their bits).
trait ToBits: Copy {
    type Bits: Hash + Eq;
    fn to_bits(self) -> Self::Bits;
}

macro_rules! to_bits_identity {
    ($($t:ty),*) => {$(impl ToBits for $t { type Bits = $t; fn to_bits(self) -> $t { self } })*};
}
to_bits_identity!(i8, i16, i32, i64, i128, u8, u16, u32, u64);

impl ToBits for f32 {
    type Bits = u32;
    fn to_bits(self) -> u32 {
        f32::to_bits(self)
    }
}

impl ToBits for f64 {
    type Bits = u64;
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
}

/// Parquet writer properties for the options.
pub fn writer_properties(options: &ParquetOptions) -> Result<WriterProperties> {
    Ok(properties_builder(options)?.build())
}

fn properties_builder(options: &ParquetOptions) -> Result<WriterPropertiesBuilder> {
    let compression = match options.compression {
        Compression::None => PqCompression::UNCOMPRESSED,
        Compression::Snappy => PqCompression::SNAPPY,
        Compression::Lz4 => PqCompression::LZ4_RAW,
        Compression::Zstd(level) => {
            PqCompression::ZSTD(ZstdLevel::try_new(level).map_err(|e| Error::spec(format!("zstd level {level}: {e}")))?)
        }
        Compression::Gzip(level) => {
            PqCompression::GZIP(GzipLevel::try_new(level).map_err(|e| Error::spec(format!("gzip level {level}: {e}")))?)
        }
    };
    // Chunk-level min/max/null counts, as pyarrow, DuckDB and Polars write
    // them; page-level statistics add a column index that costs time on
    // every page and that none of them needs.
    let statistics = if options.statistics { EnabledStatistics::Chunk } else { EnabledStatistics::None };
    Ok(WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(compression)
        .set_dictionary_enabled(options.dictionary)
        .set_statistics_enabled(statistics)
        .set_created_by(concat!("sluicegate version ", env!("CARGO_PKG_VERSION")).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    #[test]
    fn dictionary_follows_the_size_it_would_save() {
        // Every value new: plain.
        let ids = Int64Array::from_iter_values(0..10_000);
        assert!(!worth_a_dictionary(&ids));
        // About 86% new, as order numbers with a few events each: a
        // dictionary of 8-byte values plus 12-bit indexes is larger.
        let orders = Int64Array::from_iter_values((0..10_000i64).map(|i| i - i / 7));
        assert!(!worth_a_dictionary(&orders));
        // Half the values repeat: the dictionary saves a third.
        let prices = Int64Array::from_iter_values((0..10_000i64).map(|i| i / 2));
        assert!(worth_a_dictionary(&prices));
        // Twenty categories.
        let categories = StringArray::from_iter_values((0..10_000).map(|i| format!("category-{}", i % 20)));
        assert!(worth_a_dictionary(&categories));
        // Distinct e-mails: plain.
        let emails = StringArray::from_iter_values((0..10_000).map(|i| format!("user.{i}@mail.example.org")));
        assert!(!worth_a_dictionary(&emails));
        // Nothing but nulls costs nothing either way.
        let nulls = Int64Array::from(vec![None::<i64>; 100]);
        assert!(worth_a_dictionary(&nulls));
    }

    #[test]
    fn dictionary_size_arithmetic() {
        // 100 distinct 8-byte values among 4,096: 800 + 4,096 * 7 bits.
        assert!(dictionary_pays(100, 4096, 8));
        assert!(!dictionary_pays(4096, 4096, 8));
        assert!(dictionary_pays(0, 0, 8));
        // Wider values make the same share of repeats pay.
        assert!(!dictionary_pays(3000, 4096, 4));
        assert!(dictionary_pays(3000, 4096, 64));
    }

    #[test]
    fn distinct_counts_are_close() {
        for distinct in [1usize, 20, 365, 1000, 2500, 4096] {
            let (got, n) = count_distinct((0..4096u64).map(|i| (i % distinct as u64) * 7919));
            assert_eq!(n, 4096);
            let err = got.abs_diff(distinct) as f64 / distinct as f64;
            assert!(err < 0.02, "{got} for {distinct}");
        }
        assert_eq!(count_distinct(std::iter::empty::<u64>()), (0, 0));
        let words = ["a", "b", "a", "c"];
        assert_eq!(count_distinct(words.iter()), (3, 4));
    }
}
