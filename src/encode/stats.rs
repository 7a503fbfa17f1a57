//! Chunk statistics of top-level string columns, computed here rather than
//! by the parquet crate.
//!
//! The crate finds a string column's min and max with two full byte
//! compares per value, which made those compares 4-5% of a whole run on
//! text-heavy data. Here each value is first compared by its leading 8
//! bytes as one big-endian integer, which decides almost every value; only
//! a tie on those bytes, between values longer than that, compares the
//! rest. The result is then truncated and written into the column chunk's
//! metadata exactly as the crate would have written it (the tests below
//! check that the metadata is identical).

use arrow_array::{Array, StringArray};
use parquet::arrow::arrow_writer::ArrowColumnChunk;
use parquet::data_type::ByteArray;
use parquet::file::metadata::LevelHistogram;
use parquet::file::properties::DEFAULT_STATISTICS_TRUNCATE_LENGTH;
use parquet::file::statistics::{Statistics, ValueStatistics};

use crate::error::{Error, Result};

/// Sets the chunk statistics of `chunk`, written with statistics off, from
/// the string column `array` it was encoded from: min and max (truncated as
/// the crate truncates them), null count, unencoded bytes and the
/// definition-level histogram.
pub(super) fn set_string_statistics(chunk: &mut ArrowColumnChunk, array: &StringArray) -> Result<()> {
    let close = chunk.close_mut();
    let nulls = array.null_count() as u64;
    let statistics = match min_max(array) {
        Some((min, max)) => {
            let (min, min_truncated) = truncate_min(min);
            let (max, max_truncated) = truncate_max(max);
            ValueStatistics::<ByteArray>::new(Some(min.into()), Some(max.into()), None, Some(nulls), false)
                .with_min_is_exact(!min_truncated)
                .with_max_is_exact(!max_truncated)
        }
        None => ValueStatistics::new(None, None, None, Some(nulls), false),
    };
    let definition_levels = LevelHistogram::try_new(close.metadata.column_descr().max_def_level()).map(|_| {
        let nulls = nulls as i64;
        LevelHistogram::from(vec![nulls, array.len() as i64 - nulls])
    });
    close.metadata = close
        .metadata
        .clone()
        .into_builder()
        .set_statistics(Statistics::ByteArray(statistics))
        .set_unencoded_byte_array_data_bytes(Some(text_bytes(array)))
        .set_definition_level_histogram(definition_levels)
        .build()
        .map_err(Error::encode)?;
    Ok(())
}

/// The bytes of the column's non-null values.
fn text_bytes(array: &StringArray) -> i64 {
    let offsets = array.value_offsets();
    match array.nulls().filter(|n| n.null_count() > 0) {
        None => i64::from(offsets[array.len()] - offsets[0]),
        Some(nulls) => nulls.valid_indices().map(|i| i64::from(offsets[i + 1] - offsets[i])).sum(),
    }
}

/// The least and greatest non-null values, in byte order; `None` when
/// every value is null (or there is none).
fn min_max(array: &StringArray) -> Option<(&[u8], &[u8])> {
    match array.nulls().filter(|n| n.null_count() > 0) {
        None => min_max_of(array, 0..array.len()),
        Some(nulls) => min_max_of(array, nulls.valid_indices()),
    }
}

fn min_max_of(array: &StringArray, mut rows: impl Iterator<Item = usize>) -> Option<(&[u8], &[u8])> {
    let offsets = array.value_offsets();
    let values = array.values().as_slice();
    let range = |i: usize| offsets[i] as usize..offsets[i + 1] as usize;
    // A value's first 8 bytes, zero-padded, as a big-endian number: when
    // two keys differ, the values compare as their keys do (a value that
    // ends first is padded with zeros, and it is the lesser or they tie).
    let key = |r: &std::ops::Range<usize>| -> u64 {
        let len = r.end - r.start;
        match values.get(r.start..r.start + 8) {
            Some(word) => {
                let word = u64::from_be_bytes(word.try_into().expect("8 bytes"));
                if len >= 8 {
                    word
                } else {
                    word & !(u64::MAX >> (8 * len))
                }
            }
            None => {
                let mut word = [0u8; 8];
                let n = len.min(8);
                word[..n].copy_from_slice(&values[r.start..r.start + n]);
                u64::from_be_bytes(word)
            }
        }
    };
    // Whether `a` sorts before `b`, given equal keys: when both fit in
    // their keys, the shorter is the other with zeros cut off.
    let less = |a: &std::ops::Range<usize>, b: &std::ops::Range<usize>| {
        let (la, lb) = (a.len(), b.len());
        if la <= 8 && lb <= 8 {
            la < lb
        } else {
            values[a.clone()] < values[b.clone()]
        }
    };
    let first = range(rows.next()?);
    let (mut min, mut max) = (first.clone(), first);
    let (mut min_key, mut max_key) = (key(&min), key(&max));
    for i in rows {
        let r = range(i);
        let k = key(&r);
        if k > min_key && k < max_key {
            continue;
        }
        if k < min_key || (k == min_key && less(&r, &min)) {
            (min, min_key) = (r.clone(), k);
        }
        if k > max_key || (k == max_key && less(&max, &r)) {
            (max, max_key) = (r, k);
        }
    }
    Some((&values[min], &values[max]))
}

/// A lower bound of at most the truncation length: the longest prefix that
/// ends on a character boundary. The flag says whether it was cut.
fn truncate_min(value: &[u8]) -> (Vec<u8>, bool) {
    let cut = DEFAULT_STATISTICS_TRUNCATE_LENGTH.filter(|&l| value.len() > l).and_then(|l| {
        let text = std::str::from_utf8(value).ok()?;
        let split = (1..=l).rfind(|&x| text.is_char_boundary(x))?;
        Some(value[..split].to_vec())
    });
    match cut {
        Some(prefix) => (prefix, true),
        None => (value.to_vec(), false),
    }
}

/// An upper bound of at most the truncation length: a prefix ending on a
/// character boundary whose last character that can be is incremented
/// (to one of the same width). The flag says whether it was cut.
fn truncate_max(value: &[u8]) -> (Vec<u8>, bool) {
    let cut = DEFAULT_STATISTICS_TRUNCATE_LENGTH.filter(|&l| value.len() > l).and_then(|l| {
        let text = std::str::from_utf8(value).ok()?;
        let split = (l.saturating_sub(3)..=l).rfind(|&x| text.is_char_boundary(x))?;
        increment_last_char(&text[..split])
    });
    match cut {
        Some(bound) => (bound, true),
        None => (value.to_vec(), false),
    }
}

/// `text` up to and including its last character that has a successor of
/// the same UTF-8 width, with that character replaced by its successor.
fn increment_last_char(text: &str) -> Option<Vec<u8>> {
    text.char_indices().rev().find_map(|(at, c)| {
        let next = char::from_u32(c as u32 + 1).filter(|n| n.len_utf8() == c.len_utf8())?;
        let mut bound = text.as_bytes()[..at + c.len_utf8()].to_vec();
        next.encode_utf8(&mut bound[at..]);
        Some(bound)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::value::tests::below;

    /// Strings that tie on long prefixes, hold zero bytes, end where others
    /// go on, and carry multi-byte characters.
    fn tricky_strings(seed: u64, n: usize) -> Vec<Option<String>> {
        let mut next = below(seed);
        let alphabet = ["a", "b", "\0", "z", "é", "€", "\u{10FFFF}", "\u{7F}", "\u{7FF}", "\u{FFFF}", "0"];
        (0..n)
            .map(|_| {
                if next(7) == 0 {
                    return None;
                }
                let shared = ["", "prefix-common-", "prefix-common-longer-than-sixteen-"][next(3) as usize];
                let len = next(80) as usize;
                let tail: String = (0..len).map(|_| alphabet[next(alphabet.len() as u64) as usize]).collect();
                Some(format!("{shared}{tail}"))
            })
            .collect()
    }

    #[test]
    fn min_max_is_the_byte_order_min_max() {
        for seed in 1..200u64 {
            let strings = tricky_strings(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 1 + (seed as usize % 40));
            let array = StringArray::from(strings.clone());
            let want = {
                let valid = strings.iter().flatten().map(|s| s.as_bytes());
                valid.clone().min().zip(valid.max())
            };
            assert_eq!(min_max(&array), want, "seed {seed}");
            // A slice starts its offsets past zero and may end at the
            // values buffer's end.
            let sliced = array.slice(1.min(array.len()), array.len().saturating_sub(1));
            let valid = strings.iter().skip(1).flatten().map(|s| s.as_bytes());
            assert_eq!(min_max(&sliced), valid.clone().min().zip(valid.max()), "seed {seed}, sliced");
        }
        assert_eq!(min_max(&StringArray::from(Vec::<Option<&str>>::new())), None);
        assert_eq!(min_max(&StringArray::from(vec![None::<&str>, None])), None);
        let ends = StringArray::from(vec!["ab", "ab\0", "a", "ab\0\0"]);
        assert_eq!(min_max(&ends), Some((&b"a"[..], &b"ab\0\0"[..])));
    }

    /// The metadata of every column chunk is what the crate itself writes,
    /// whether a column holds nulls or not, only nulls, values past the
    /// truncation length or multi-byte characters at its edge.
    #[test]
    fn chunk_metadata_is_the_crates() {
        use std::sync::Arc;

        use arrow_array::{ArrayRef, Int64Array, RecordBatch};
        use arrow_schema::{DataType, Field, Schema};

        use crate::encode::Encoder;
        use crate::spec::ParquetOptions;

        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, true),
            Field::new("required", DataType::Utf8, false),
            Field::new("nulls", DataType::Utf8, true),
            Field::new("low", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        for (seed, rows) in [(3u64, 1usize), (5, 17), (7, 3000), (11, 20_000)] {
            let text = tricky_strings(seed, rows);
            let required: Vec<String> =
                tricky_strings(seed + 1, rows).into_iter().map(Option::unwrap_or_default).collect();
            let low: Vec<Option<&str>> =
                (0..rows).map(|i| [Some("red"), Some("green"), None, Some("blue")][i % 4]).collect();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(text)),
                Arc::new(StringArray::from(required)),
                Arc::new(StringArray::from(vec![None::<&str>; rows])),
                Arc::new(StringArray::from(low)),
                Arc::new(Int64Array::from_iter((0..rows as i64).map(|i| (i % 3 != 0).then_some(i)))),
            ];
            let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
            let metadata = |own: bool| {
                let mut encoder = Encoder::new(Arc::clone(&schema), ParquetOptions::default(), 1 << 20);
                encoder.own_string_statistics = own;
                let groups = encoder.encode(&batch).unwrap();
                groups.iter().flat_map(|g| g.columns.iter().map(|c| c.close().metadata.clone())).collect::<Vec<_>>()
            };
            let (ours, crates) = (metadata(true), metadata(false));
            assert_eq!(ours.len(), 5);
            for (a, b) in ours.iter().zip(&crates) {
                assert_eq!(a, b, "column {}, {rows} rows", a.column_path());
            }
            assert!(ours[0].statistics().is_some_and(|s| s.min_bytes_opt().is_some()));
        }
    }

    #[test]
    fn truncation_cuts_on_character_boundaries() {
        let long = "x".repeat(63) + "€€";
        let (min, cut) = truncate_min(long.as_bytes());
        assert!(cut);
        assert_eq!(min, "x".repeat(63).as_bytes());
        let (max, cut) = truncate_max(long.as_bytes());
        assert!(cut);
        assert_eq!(max, ("x".repeat(62) + "y").as_bytes());
        assert_eq!(truncate_max(b"short"), (b"short".to_vec(), false));
        // Nothing can be incremented: the value stays whole and exact.
        let top = "\u{10FFFF}".repeat(20);
        assert_eq!(truncate_max(top.as_bytes()), (top.as_bytes().to_vec(), false));
    }
}
