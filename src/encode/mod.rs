//! `RecordBatch` to encoded Parquet column chunks, in the worker, so that the
//! single ordered writer only appends bytes.
//!
//! Each column's encoding is decided per chunk from a sample of its first
//! values, as the one that makes them smallest:
//! - a dictionary, where values repeat (categories, prices, dates);
//! - delta (DELTA_BINARY_PACKED), for integers, dates, timestamps and
//!   small decimals whose neighbours are close (sequence numbers, ids in a
//!   range, event times): each value becomes its difference from the last,
//!   bit-packed, 32 at a time, at the width the largest one needs;
//! - plain otherwise (e-mails, random floats), since building a dictionary
//!   costs a hash per value and saves nothing.
//!
//! A dictionary keeps parquet's own fallback to plain when it grows past
//! its page size limit.
//!
//! Top-level string columns get their chunk statistics from [`stats`],
//! not from the crate, which compares every value in full twice.

mod stats;

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
use arrow_schema::{DataType, Field, SchemaRef, TimeUnit};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression as PqCompression, Encoding, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::spec::{Compression, ParquetOptions};

/// Values sampled per column and chunk to choose its encoding.
const DICTIONARY_SAMPLE: usize = 4096;
/// A column leaves plain encoding only for one that takes at most this
/// share of the plain bytes over its sample (percent).
const MAX_SIZE_PERCENT: usize = 90;

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
    /// Column writer factories by encoding choice.
    factories: Mutex<HashMap<Choices, Arc<ArrowRowGroupWriterFactory>>>,
    /// Whether top-level string columns take their statistics from
    /// [`stats`] (always, but where a test compares with the crate's).
    own_string_statistics: bool,
}

/// How a column is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Dictionary,
    Delta,
    Plain,
}

/// The encodings of a chunk's columns: bit `i` of a mask is column `i`
/// (columns past the 64th keep the default, a dictionary when enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Choices {
    dictionary: u64,
    delta: u64,
}

impl Encoder {
    pub(crate) fn new(schema: SchemaRef, options: ParquetOptions, row_group_rows: usize) -> Self {
        Encoder {
            schema,
            options,
            row_group_rows: row_group_rows.max(1),
            factories: Mutex::new(HashMap::new()),
            own_string_statistics: true,
        }
    }

    /// Whether a column's chunk statistics come from [`stats`]: a top-level
    /// string column, when statistics are on.
    fn own_statistics(&self, field: &Field) -> bool {
        self.own_string_statistics && self.options.statistics && *field.data_type() == DataType::Utf8
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
        let factory = self.factory(self.choices(batch))?;
        // The row-group index only matters to encryption, which is not used.
        let mut writers = factory.create_column_writers(0).map_err(Error::encode)?;
        let mut leaves = writers.iter_mut().enumerate();
        // Leaf columns whose statistics are set after they close.
        let mut own_statistics = Vec::new();
        for (field, array) in self.schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, array).map_err(Error::encode)? {
                let (i, writer) = leaves.next().ok_or_else(|| Error::encode("more leaves than column writers"))?;
                writer.write(&leaf).map_err(Error::encode)?;
                if self.own_statistics(field) {
                    own_statistics.push((i, array.as_string::<i32>()));
                }
            }
        }
        let mut columns: Vec<ArrowColumnChunk> =
            writers.into_iter().map(|w| w.close().map_err(Error::encode)).collect::<Result<_>>()?;
        for (i, array) in own_statistics {
            stats::set_string_statistics(&mut columns[i], array)?;
        }
        Ok(EncodedRowGroup { rows: batch.num_rows(), columns })
    }

    fn choices(&self, batch: &RecordBatch) -> Choices {
        let mut choices = Choices::default();
        for (i, array) in batch.columns().iter().enumerate().take(64) {
            match choose(array.as_ref(), &self.options) {
                Choice::Dictionary => choices.dictionary |= 1 << i,
                Choice::Delta => choices.delta |= 1 << i,
                Choice::Plain => {}
            }
        }
        choices
    }

    fn factory(&self, choices: Choices) -> Result<Arc<ArrowRowGroupWriterFactory>> {
        let mut cache = self.factories.lock().expect("no panics while the factory cache is held");
        if let Some(f) = cache.get(&choices) {
            return Ok(Arc::clone(f));
        }
        let mut props = properties_builder(&self.options)?;
        for (i, field) in self.schema.fields().iter().enumerate() {
            let path = || ColumnPath::from(field.name().as_str());
            let on = self.options.dictionary && (i >= 64 || choices.dictionary & (1 << i) != 0);
            props = props.set_column_dictionary_enabled(path(), on);
            if self.own_statistics(field) {
                props = props.set_column_statistics_enabled(path(), EnabledStatistics::None);
            }
            if i < 64 && choices.delta & (1 << i) != 0 {
                props = props.set_column_encoding(path(), Encoding::DELTA_BINARY_PACKED);
            }
        }
        // Column writers take their properties from a file writer; this one
        // writes nowhere and only lends them. Its chunks are appended to the
        // real file by the sink.
        let parquet_schema = ArrowSchemaConverter::new().convert(&self.schema).map_err(Error::encode)?;
        let lender =
            SerializedFileWriter::new(std::io::sink(), parquet_schema.root_schema_ptr(), Arc::new(props.build()))
                .map_err(Error::encode)?;
        let factory = Arc::new(ArrowRowGroupWriterFactory::new(&lender, Arc::clone(&self.schema)));
        cache.insert(choices, Arc::clone(&factory));
        Ok(factory)
    }
}

/// The encoding that makes the column's first values smallest (see the
/// module's introduction), among those the options allow.
fn choose(array: &dyn Array, options: &ParquetOptions) -> Choice {
    /// A column of values that Parquet stores as INT32 or INT64, as the
    /// 64-bit integers its delta encoding works on.
    fn int<T: ArrowPrimitiveType>(a: &dyn Array, width: usize, options: &ParquetOptions) -> Choice
    where
        T::Native: Stored,
    {
        let sample = sample_of::<T>(a);
        // The values as stored are as distinct as the values.
        let values = sample.iter().map(|v| v.stored());
        let dictionary = options.dictionary.then(|| {
            let (distinct, sampled) = count_distinct(values.clone());
            dictionary_bytes(distinct, sampled, width)
        });
        let delta = options.delta.then(|| delta_bytes(values));
        smallest(sample.len() * width, dictionary, delta)
    }
    fn other<T: ArrowPrimitiveType>(a: &dyn Array, width: usize, options: &ParquetOptions) -> Choice
    where
        T::Native: ToBits,
    {
        if !options.dictionary {
            return Choice::Plain;
        }
        let sample = sample_of::<T>(a);
        let (distinct, sampled) = count_distinct(sample.iter().map(|v| v.to_bits()));
        smallest(sampled * width, Some(dictionary_bytes(distinct, sampled, width)), None)
    }
    match array.data_type() {
        DataType::Boolean if options.dictionary => Choice::Dictionary,
        DataType::Utf8 if options.dictionary => {
            // A plain value is its bytes and a 4-byte length.
            let mut bytes = 0;
            let values = array.as_string::<i32>().iter().flatten().take(DICTIONARY_SAMPLE);
            let (distinct, sampled) = count_distinct(values.inspect(|v| bytes += v.len()));
            let width = 4 + bytes / sampled.max(1);
            smallest(sampled * width, Some(dictionary_bytes(distinct, sampled, width)), None)
        }
        // Widths are Parquet's physical ones: small integers are INT32.
        DataType::Int8 => int::<Int8Type>(array, 4, options),
        DataType::Int16 => int::<Int16Type>(array, 4, options),
        DataType::Int32 => int::<Int32Type>(array, 4, options),
        DataType::Int64 => int::<Int64Type>(array, 8, options),
        DataType::UInt8 => int::<UInt8Type>(array, 4, options),
        DataType::UInt16 => int::<UInt16Type>(array, 4, options),
        DataType::UInt32 => int::<UInt32Type>(array, 4, options),
        DataType::UInt64 => int::<UInt64Type>(array, 8, options),
        DataType::Date32 => int::<Date32Type>(array, 4, options),
        DataType::Decimal128(p, _) if *p <= 18 => int::<Decimal128Type>(array, decimal_width(*p), options),
        DataType::Decimal128(p, _) => other::<Decimal128Type>(array, decimal_width(*p), options),
        DataType::Float32 => other::<Float32Type>(array, 4, options),
        DataType::Float64 => other::<Float64Type>(array, 8, options),
        DataType::Timestamp(TimeUnit::Second, _) => int::<TimestampSecondType>(array, 8, options),
        DataType::Timestamp(TimeUnit::Millisecond, _) => int::<TimestampMillisecondType>(array, 8, options),
        DataType::Timestamp(TimeUnit::Microsecond, _) => int::<TimestampMicrosecondType>(array, 8, options),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => int::<TimestampNanosecondType>(array, 8, options),
        _ if options.dictionary => Choice::Dictionary,
        _ => Choice::Plain,
    }
}

/// The first non-null values of a primitive column, up to the sample's size.
fn sample_of<T: ArrowPrimitiveType>(a: &dyn Array) -> std::borrow::Cow<'_, [T::Native]> {
    let a = a.as_primitive::<T>();
    if a.null_count() == 0 {
        return std::borrow::Cow::Borrowed(&a.values()[..a.len().min(DICTIONARY_SAMPLE)]);
    }
    std::borrow::Cow::Owned(a.iter().flatten().take(DICTIONARY_SAMPLE).collect())
}

/// The choice among plain (`plain` bytes over the sample) and the other
/// encodings' estimates over it: the smallest, where it takes at most
/// [`MAX_SIZE_PERCENT`] of plain (and delta that share of a dictionary).
/// A column repeats at least as much over a whole chunk as over its first
/// values, so the sample errs towards plain.
/// An empty sample (no values, or all null) costs nothing either way and
/// keeps a dictionary where one is allowed.
fn smallest(plain: usize, dictionary: Option<usize>, delta: Option<usize>) -> Choice {
    if plain == 0 {
        return if dictionary.is_some() { Choice::Dictionary } else { Choice::Plain };
    }
    // `bytes` is at most the share of `than` that makes a change worth it.
    let beats = |bytes: usize, than: usize| bytes * 100 <= than * MAX_SIZE_PERCENT;
    match (dictionary.filter(|&b| beats(b, plain)), delta.filter(|&b| beats(b, plain))) {
        // The sample overstates a dictionary, which a whole chunk shares
        // among more values: delta must beat it by as much.
        (Some(d), Some(e)) if beats(e, d) => Choice::Delta,
        (Some(_), _) => Choice::Dictionary,
        (None, Some(_)) => Choice::Delta,
        (None, None) => Choice::Plain,
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

/// The bytes of a dictionary over a sample of `sampled` values with
/// `distinct` distinct ones of `width` bytes: the values once, then a
/// bit-packed index per value. Building one costs a hash per value, and
/// one that saves nothing (an id column where most values are new) is
/// slower to write and larger to read.
fn dictionary_bytes(distinct: usize, sampled: usize, width: usize) -> usize {
    let index_bits = (usize::BITS - distinct.leading_zeros()) as usize;
    distinct * width + (sampled * index_bits).div_ceil(8)
}

/// Values per block of Parquet's delta encoding, and per miniblock.
const DELTA_BLOCK: usize = 128;
const DELTA_MINIBLOCK: usize = 32;

/// The bytes DELTA_BINARY_PACKED takes for `values`: per block of 128
/// differences between neighbours, the smallest difference (a varint) and
/// four bit widths, then each miniblock of 32 differences above that
/// smallest at the width its largest needs.
fn delta_bytes(values: impl Iterator<Item = i64>) -> usize {
    fn block(deltas: &[i64]) -> usize {
        let min = deltas.iter().copied().min().unwrap_or(0);
        let header = 10 + DELTA_BLOCK / DELTA_MINIBLOCK;
        let packed: usize = deltas
            .chunks(DELTA_MINIBLOCK)
            .map(|mini| {
                let top = mini.iter().map(|d| d.wrapping_sub(min) as u64).max().unwrap_or(0);
                DELTA_MINIBLOCK * (u64::BITS - top.leading_zeros()) as usize / 8
            })
            .sum();
        header + packed
    }
    let mut deltas = [0i64; DELTA_BLOCK];
    let (mut len, mut bytes, mut last) = (0, 0, None::<i64>);
    for v in values {
        if let Some(prev) = last {
            deltas[len] = v.wrapping_sub(prev);
            len += 1;
            if len == DELTA_BLOCK {
                bytes += block(&deltas);
                len = 0;
            }
        }
        last = Some(v);
    }
    if len > 0 {
        bytes += block(&deltas[..len]);
    }
    // The first value is written whole, in the header.
    bytes + 10
}

/// The 64-bit integer that Parquet's delta encoding sees for a value: the
/// value as stored (unsigned 32-bit values are INT32's bits), widened.
trait Stored: Copy {
    fn stored(self) -> i64;
}

macro_rules! stored_as_cast {
    ($($t:ty),*) => {$(impl Stored for $t { fn stored(self) -> i64 { self as i64 } })*};
}
stored_as_cast!(i8, i16, i32, i64, u8, u16, u64);

impl Stored for u32 {
    fn stored(self) -> i64 {
        self as i32 as i64
    }
}

impl Stored for i128 {
    /// A decimal of at most 18 digits, stored as INT32 or INT64.
    fn stored(self) -> i64 {
        self as i64
    }
}

/// A hashable image of a value that delta encoding does not take (floats
/// by their bits, wide decimals as they are).
trait ToBits: Copy {
    type Bits: Hash + Eq;
    fn to_bits(self) -> Self::Bits;
}

impl ToBits for i128 {
    type Bits = i128;
    fn to_bits(self) -> i128 {
        self
    }
}

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

/// Values handed to a column writer at once (see [`properties_builder`]).
const WRITE_BATCH_VALUES: usize = 8192;

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
        // Values go to the column writers in batches of this many; each
        // batch costs a page-size check, level bookkeeping and statistics
        // upkeep. The crate's default (1,024) made that a few percent of a
        // run; a page still closes near its size limit (1 MiB).
        .set_write_batch_size(WRITE_BATCH_VALUES)
        .set_created_by(concat!("sluicegate version ", env!("CARGO_PKG_VERSION")).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int64Array, StringArray};

    fn choice(array: &dyn Array) -> Choice {
        choose(array, &ParquetOptions::default())
    }

    #[test]
    fn encoding_follows_the_size_it_would_save() {
        use Choice::*;
        let ints = |f: fn(i64) -> i64| Int64Array::from_iter_values((0..10_000i64).map(f));
        // Every value new and in sequence: delta (a bit or two per value).
        assert_eq!(choice(&ints(|i| i)), Delta);
        // About 86% new, as order numbers with a few events each, in
        // order: delta, where a dictionary of 8-byte values plus 12-bit
        // indexes would be larger than plain.
        assert_eq!(choice(&ints(|i| 10_000_000_000 + i - i / 7)), Delta);
        // Ids spread over the whole range in no order: plain.
        fn scatter(i: i64) -> i64 {
            let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (x ^ (x >> 31)) as i64
        }
        assert_eq!(choice(&ints(scatter)), Plain);
        // Ids in a range of a few million in no order: delta still packs
        // each into about 23 bits.
        assert_eq!(choice(&ints(|i| 4_000_000 + scatter(i).rem_euclid(5_000_000))), Delta);
        // Half the values repeat, in no order, over a wide range: a dictionary.
        assert_eq!(choice(&ints(|i| ((i / 2) * 7919 % 5003) << 40)), Dictionary);
        // A handful of values: a dictionary, whose indexes are narrower than any delta.
        assert_eq!(choice(&ints(|i| (i * 7) % 5)), Dictionary);
        // Twenty categories.
        let categories = StringArray::from_iter_values((0..10_000).map(|i| format!("category-{}", i % 20)));
        assert_eq!(choice(&categories), Dictionary);
        // Distinct e-mails: plain.
        let emails = StringArray::from_iter_values((0..10_000).map(|i| format!("user.{i}@mail.example.org")));
        assert_eq!(choice(&emails), Plain);
        // Nothing but nulls costs nothing either way.
        assert_eq!(choice(&Int64Array::from(vec![None::<i64>; 100])), Dictionary);
        // Floats never take delta.
        assert_eq!(choice(&Float64Array::from_iter_values((0..10_000).map(|i| i as f64 * 1.5))), Plain);
    }

    #[test]
    fn options_limit_the_choice() {
        let seq = Int64Array::from_iter_values(0..10_000i64);
        let few = Int64Array::from_iter_values((0..10_000i64).map(|i| i % 5));
        let no_delta = ParquetOptions { delta: false, ..ParquetOptions::default() };
        assert_eq!(choose(&seq, &no_delta), Choice::Plain);
        assert_eq!(choose(&few, &no_delta), Choice::Dictionary);
        let no_dictionary = ParquetOptions { dictionary: false, ..ParquetOptions::default() };
        assert_eq!(choose(&few, &no_dictionary), Choice::Delta);
        let neither = ParquetOptions { dictionary: false, delta: false, ..ParquetOptions::default() };
        assert_eq!(choose(&few, &neither), Choice::Plain);
        assert_eq!(choose(&StringArray::from(vec!["a"; 100]), &neither), Choice::Plain);
    }

    #[test]
    fn size_arithmetic() {
        // 100 distinct 8-byte values among 4,096: 800 + 4,096 * 7 bits.
        assert_eq!(dictionary_bytes(100, 4096, 8), 800 + 3584);
        assert_eq!(dictionary_bytes(0, 0, 8), 0);
        // 129 values in steps of 3: one block of 128 equal differences,
        // which pack to nothing.
        assert_eq!(delta_bytes((0..129).map(|i| i * 3)), 14 + 10);
        // Differences of 0 or 1 in turn pack to a bit each.
        assert_eq!(delta_bytes((0..129).map(|i| i / 2)), 14 + 128 / 8 + 10);
        // Around the ends of the range the differences wrap, as Parquet's
        // do: +1 and -1, two bits above the smallest.
        assert_eq!(delta_bytes([i64::MAX, i64::MIN, i64::MAX].into_iter()), 14 + 32 * 2 / 8 + 10);
        assert_eq!(smallest(1000, Some(901), None), Choice::Plain);
        assert_eq!(smallest(1000, Some(900), Some(810)), Choice::Delta);
        assert_eq!(smallest(1000, Some(500), Some(451)), Choice::Dictionary);
        assert_eq!(smallest(1000, None, Some(900)), Choice::Delta);
        assert_eq!(smallest(0, None, Some(0)), Choice::Plain);
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
