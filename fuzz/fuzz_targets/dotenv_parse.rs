//! Any UTF-8 text through the .env parser: it never panics, and every value it yields
//! either comes back unchanged through `encode_line` and `parse`, or `encode_line` says
//! the value cannot be written as a .env line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor::vault::dotenv::{self, DotenvError};

/// A valid key: the round trip is about values (keys are checked elsewhere).
const KEY: &str = "FUZZ_KEY";

fuzz_target!(|src: &str| {
    let Ok(entries) = dotenv::parse(src) else {
        return;
    };
    for entry in &entries {
        match dotenv::encode_line(KEY, &entry.value) {
            Ok((line, _readers)) => {
                let line: &str = &line;
                let back = dotenv::parse(line)
                    .unwrap_or_else(|e| panic!("encoded line {line:?} does not parse: {e}"));
                assert_eq!(back.len(), 1, "encoded line {line:?} parses to {} entries", back.len());
                assert_eq!(back[0].key, KEY, "key of {line:?}");
                assert_eq!(back[0].value, entry.value, "value of {line:?}");
            }
            Err(DotenvError::Unrepresentable { .. }) => {}
            Err(e) => panic!("encode_line of a parsed value failed with another error: {e}"),
        }
    }
    let _ = dotenv::dedup_last_wins(entries);
});
