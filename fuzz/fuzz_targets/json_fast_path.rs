//! The JSON decoder's fast path for flat records must read every input as
//! the general path (simd-json's tape) does: the same rows, the same
//! rejects and null counts, or the same error.
//!
//! The first byte of the input picks the framing and the policy for bad
//! records; the rest is one chunk of NDJSON, or of a JSON array's elements
//! (after the `[`). The schema (`testdata/json_scalars.schema.json`) has a
//! column of every scalar kind, most of them nullable.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicegate::decode::{Framing, JsonDecoder};
use sluicegate::spec::{JsonOptions, OnError, Schema};
use sluicegate::split::Chunk;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else { return };
    let framing = if pick & 1 == 0 { Framing::Lines } else { Framing::Array };
    let policy = [OnError::Fail, OnError::Reject, OnError::Null][usize::from(pick >> 1) % 3];
    let unknown_fields_are_errors = pick & 0x80 != 0;
    let schema = Schema::from_json(include_str!("../../testdata/json_scalars.schema.json")).expect("a valid schema");
    let options = JsonOptions { unknown_fields_are_errors, ..JsonOptions::default() };
    let decode = |fast: bool| {
        let decoder = JsonDecoder::new(&schema, &options, framing)
            .expect("a valid decoder")
            .with_on_error(policy)
            .with_fast_path(fast);
        match decoder.decode(&Chunk::new(0, 0, 1, text.to_vec().into())) {
            Ok(d) => format!("{:?}\n{:?}\n{} {}", d.batch, d.rejects, d.records, d.nulled),
            Err(e) => format!("error {e:?}"),
        }
    };
    let (fast, general) = (decode(true), decode(false));
    assert_eq!(fast, general, "the fast path and the general one disagree");
});
