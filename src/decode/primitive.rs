//! Builders of fixed-width columns and of validity bitmaps.
//!
//! Arrow's builders append a validity bit through `BooleanBufferBuilder`,
//! whose `append` the compiler keeps out of line in the JSON walk: a call
//! per value of every nullable column once the column has held a null.
//! These append the bit inline; the arrays they finish are arrow's own.

use arrow_array::{ArrowPrimitiveType, PrimitiveArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};

/// A validity bitmap under construction: one bit per value, set when the
/// value is valid.
#[derive(Debug)]
pub(crate) struct Validity {
    words: Vec<u64>,
    len: usize,
    nulls: usize,
}

impl Validity {
    /// Room for `rows` bits.
    pub(crate) fn with_capacity(rows: usize) -> Self {
        Validity { words: Vec::with_capacity(rows.div_ceil(64)), len: 0, nulls: 0 }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, valid: bool) {
        let bit = self.len % 64;
        if bit == 0 {
            self.words.push(0);
        }
        let last = self.words.len() - 1;
        self.words[last] |= u64::from(valid) << bit;
        self.nulls += usize::from(!valid);
        self.len += 1;
    }

    /// The bitmap, or `None` when every value is valid (as arrow's builders
    /// leave it).
    pub(crate) fn finish(self) -> Option<NullBuffer> {
        if self.nulls == 0 {
            return None;
        }
        let bits = BooleanBuffer::new(Buffer::from_vec(self.words), 0, self.len);
        // SAFETY: `nulls` counted the clear bits among the first `len`.
        Some(unsafe { NullBuffer::new_unchecked(bits, self.nulls) })
    }
}

/// A column of `T`'s values with its validity, appended one at a time.
#[derive(Debug)]
pub(crate) struct PrimitiveValues<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    validity: Validity,
}

impl<T: ArrowPrimitiveType> PrimitiveValues<T> {
    pub(crate) fn with_capacity(rows: usize) -> Self {
        PrimitiveValues { values: Vec::with_capacity(rows), validity: Validity::with_capacity(rows) }
    }

    #[inline(always)]
    pub(crate) fn append_value(&mut self, v: T::Native) {
        self.values.push(v);
        self.validity.push(true);
    }

    #[inline(always)]
    pub(crate) fn append_null(&mut self) {
        self.values.push(T::Native::default());
        self.validity.push(false);
    }

    /// The array, of `T`'s default data type (the caller sets precision,
    /// scale or time zone where the column has them).
    pub(crate) fn finish(self) -> PrimitiveArray<T> {
        let (values, nulls) = self.into_parts();
        PrimitiveArray::new(values, nulls)
    }

    /// The values and their validity, for an array of another type with
    /// the same native values (timestamps of a unit chosen at run time).
    pub(crate) fn into_parts(self) -> (ScalarBuffer<T::Native>, Option<NullBuffer>) {
        (ScalarBuffer::from(self.values), self.validity.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int64Type;
    use arrow_array::{Array, Int64Array};

    #[test]
    fn arrays_equal_arrows_own() {
        let mut next = crate::decode::value::tests::below(0x9E37_79B9_7F4A_7C15);
        for len in [0usize, 1, 63, 64, 65, 127, 128, 129, 1000] {
            for null_every in [0u64, 1, 2, 7, 64] {
                let mut ours = PrimitiveValues::<Int64Type>::with_capacity(len / 2);
                let mut want = Vec::with_capacity(len);
                for _ in 0..len {
                    if null_every > 0 && next(null_every) == 0 {
                        ours.append_null();
                        want.push(None);
                    } else {
                        let v = next(1 << 40) as i64 - (1 << 39);
                        ours.append_value(v);
                        want.push(Some(v));
                    }
                }
                let ours = ours.finish();
                ours.to_data().validate_full().unwrap();
                let want = Int64Array::from(want);
                assert_eq!(ours, want, "{len} values, a null in {null_every}");
                assert_eq!(ours.nulls().is_some(), want.null_count() > 0);
            }
        }
    }
}
