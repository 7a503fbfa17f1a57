//! The builder of string columns.
//!
//! Arrow's `StringBuilder` copies each value with a call to `memcpy` and
//! checks two buffers' capacity; most fields are a few bytes to a few dozen
//! (codes, names, e-mails), where that call is the larger part of the
//! work. This one copies short values inline, with a pair of overlapping
//! loads and stores, and grows a single `Vec` of offsets.

use arrow_array::StringArray;
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};

use super::primitive::Validity;

#[derive(Debug)]
pub(crate) struct TextBuilder {
    values: Vec<u8>,
    /// One more than the values appended: each value's start, then the end.
    offsets: Vec<i32>,
    nulls: Validity,
}

impl TextBuilder {
    /// Room for `rows` values and `bytes` bytes of text.
    pub(crate) fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        TextBuilder { values: Vec::with_capacity(bytes), offsets, nulls: Validity::with_capacity(rows) }
    }

    #[inline(always)]
    pub(crate) fn append_value(&mut self, value: impl AsRef<str>) {
        let bytes = value.as_ref().as_bytes();
        self.values.reserve(bytes.len());
        let at = self.values.len();
        // SAFETY: `reserve` made room for `bytes.len()` more bytes past
        // `at`, and `copy_short` writes exactly those before the length
        // covers them.
        unsafe {
            copy_short(bytes, self.values.as_mut_ptr().add(at));
            self.values.set_len(at + bytes.len());
        }
        self.push_offset();
        self.nulls.push(true);
    }

    #[inline]
    pub(crate) fn append_null(&mut self) {
        self.push_offset();
        self.nulls.push(false);
    }

    /// The text appended so far, values one after another.
    pub(crate) fn values_slice(&self) -> &[u8] {
        &self.values
    }

    pub(crate) fn finish(self) -> StringArray {
        // SAFETY: offsets start at 0 and never fall, the last is the length
        // of `values`, and each value was a `&str`, so every slice between
        // two offsets is UTF-8.
        unsafe {
            let offsets = OffsetBuffer::new_unchecked(ScalarBuffer::from(self.offsets));
            StringArray::new_unchecked(offsets, Buffer::from_vec(self.values), self.nulls.finish())
        }
    }

    #[inline]
    fn push_offset(&mut self) {
        // As arrow's builder: a column's text in one array is limited to
        // 2 GiB, far past any chunk the budget allows.
        let end = i32::try_from(self.values.len()).expect("byte array offset overflow");
        self.offsets.push(end);
    }
}

/// Copies `src` to `dst`: values up to 16 bytes with two loads and two
/// stores that may overlap, longer ones with `copy_nonoverlapping`.
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes of writes and not overlap
/// `src`.
#[inline(always)]
unsafe fn copy_short(src: &[u8], dst: *mut u8) {
    let (len, s) = (src.len(), src.as_ptr());
    // SAFETY (every arm): the reads stay within `src`, and the writes
    // within the first `len` bytes of `dst`.
    unsafe {
        match len {
            0 => {}
            1..=3 => {
                *dst = *s;
                *dst.add(len / 2) = *s.add(len / 2);
                *dst.add(len - 1) = *s.add(len - 1);
            }
            4..=7 => {
                let (head, tail) = (s.cast::<u32>().read_unaligned(), s.add(len - 4).cast::<u32>().read_unaligned());
                dst.cast::<u32>().write_unaligned(head);
                dst.add(len - 4).cast::<u32>().write_unaligned(tail);
            }
            8..=16 => {
                let (head, tail) = (s.cast::<u64>().read_unaligned(), s.add(len - 8).cast::<u64>().read_unaligned());
                dst.cast::<u64>().write_unaligned(head);
                dst.add(len - 8).cast::<u64>().write_unaligned(tail);
            }
            _ => std::ptr::copy_nonoverlapping(s, dst, len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn values_of_every_short_length_come_back_whole() {
        let text: String = ('a'..='z').chain('A'..='Z').chain(['é', '€', '😀']).cycle().take(200).collect();
        let mut want: Vec<Option<&str>> = Vec::new();
        let mut b = TextBuilder::with_capacity(0, 0);
        for (i, len) in (0..40).chain([64, 100, 150]).enumerate() {
            let start = (i * 7) % 40;
            let end = text.char_indices().map(|(at, _)| at).chain([text.len()]).find(|&at| at >= start + len);
            let start = text.char_indices().map(|(at, _)| at).find(|&at| at >= start).unwrap();
            let value = &text[start..end.unwrap_or(text.len())];
            b.append_value(value);
            want.push(Some(value));
            if i % 5 == 0 {
                b.append_null();
                want.push(None);
            }
        }
        assert_eq!(b.values_slice().len(), want.iter().flatten().map(|v| v.len()).sum::<usize>());
        let array = b.finish();
        array.to_data().validate_full().unwrap();
        assert_eq!(array, StringArray::from(want));
    }

    #[test]
    fn no_nulls_leaves_no_null_buffer() {
        let mut b = TextBuilder::with_capacity(2, 4);
        b.append_value("ab");
        b.append_value(String::from("cd"));
        let array = b.finish();
        assert!(array.nulls().is_none());
        assert_eq!(array, StringArray::from(vec!["ab", "cd"]));
        assert_eq!(TextBuilder::with_capacity(0, 0).finish().len(), 0);
    }
}
