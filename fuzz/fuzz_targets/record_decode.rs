//! Arbitrary bytes as every stored record type: decoding never panics or allocates
//! without bound, and whatever decodes encodes back to a value that decodes the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tresor::vault::records::{
    EnvMeta, EnvRecord, Header, HistoryEntry, HistoryRecord, SecretMeta, SecretRecord, Settings,
    Slot, decode, encode,
};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = decode::<T>(data, "fuzz input") {
        let again = encode(&value).expect("a decoded record encodes");
        let back: T = decode(&again, "re-encoded").expect("a re-encoded record decodes");
        assert_eq!(back, value);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<SecretRecord>(data);
    round_trip::<SecretMeta>(data);
    round_trip::<Header>(data);
    round_trip::<Slot>(data);
    round_trip::<EnvRecord>(data);
    round_trip::<EnvMeta>(data);
    round_trip::<HistoryRecord>(data);
    round_trip::<HistoryEntry>(data);
    round_trip::<Settings>(data);
});
