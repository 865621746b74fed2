//! Several processes on one vault: writers serialise (or fail with the busy message),
//! readers are never disturbed, and nothing acknowledged is lost.

mod common;

use std::sync::Arc;

use common::{BUSY, Vault};

#[test]
fn two_writers_lose_nothing() {
    let v = Arc::new(Vault::new());
    let writers: Vec<_> = ["LEFT", "RIGHT"]
        .into_iter()
        .map(|side| {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                let mut results = Vec::new();
                for i in 0..25 {
                    let key = format!("{side}_{i}");
                    let value = format!("{side} value {i}");
                    let out = v.run(&["add", &key], Some(value.as_bytes()));
                    results.push((key, value, out));
                }
                results
            })
        })
        .collect();
    let results: Vec<_> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();

    let keys = v.keys("development");
    let mut acknowledged = 0;
    for (key, value, out) in &results {
        out.assert_no_panic();
        match out.code {
            0 => {
                acknowledged += 1;
                assert!(keys.contains(key), "{key} was acknowledged but is missing");
                assert_eq!(v.get(key), value.as_bytes(), "{key}");
            }
            1 => {
                assert_eq!(
                    out.stderr, BUSY,
                    "{key}: the only acceptable failure is a busy vault"
                );
                assert!(!keys.contains(key), "{key} failed but was stored");
            }
            other => panic!("{key}: exit {other}: {}", out.stderr),
        }
    }
    assert_eq!(keys.len(), acknowledged, "{keys:?}");
    assert!(
        acknowledged >= 25,
        "too many busy failures: {acknowledged}/50 succeeded"
    );
    // The vault is intact: digests verify, every value reads, a new write works.
    v.ok(&["export", "--format", "json"], None);
    v.add("AFTER", b"after");
    assert_eq!(v.get("AFTER"), b"after");
}

#[test]
fn readers_run_alongside_a_writer() {
    let v = Arc::new(Vault::new());
    v.add("STABLE", b"stable value");
    let writer = {
        let v = Arc::clone(&v);
        std::thread::spawn(move || {
            let mut ok = 0;
            for i in 0..20 {
                let out = v.run(&["add", &format!("W_{i}")], Some(b"w"));
                if out.code == 0 {
                    ok += 1;
                } else {
                    assert_eq!(out.stderr, BUSY);
                }
            }
            ok
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                for i in 0..20 {
                    let out = if i % 2 == 0 {
                        v.run(&["get", "STABLE"], None)
                    } else {
                        v.run(&["run", "--", "sh", "-c", "printf %s \"$STABLE\""], None)
                    };
                    assert_eq!(out.code, 0, "reader {r} round {i}: {}", out.stderr);
                    assert_eq!(out.stdout, b"stable value", "reader {r} round {i}");
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    let written = writer.join().unwrap();
    assert_eq!(v.keys("development").len(), written + 1);
}

#[test]
fn a_reader_holding_the_vault_does_not_block_others_from_reading() {
    // A long `run` has closed the vault before its child starts: others go on meanwhile.
    let v = Arc::new(Vault::new());
    v.add("K", b"v");
    let long = {
        let v = Arc::clone(&v);
        std::thread::spawn(move || v.run(&["run", "--", "sleep", "2"], None))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(v.get("K"), b"v");
    v.add("DURING", b"d");
    assert!(
        !long.is_finished(),
        "the reads and the write waited for `run`'s child"
    );
    assert_eq!(long.join().unwrap().code, 0);
}

/// Two writers editing their own keys over and over and a reader reading all the while,
/// for a few seconds: every acknowledged edit is the final state, every failure is the
/// busy message, the reader never sees a value that was not written, and the file is
/// valid at the end (`doctor`).
#[test]
fn two_writers_and_a_reader_hammering_one_vault() {
    use std::time::{Duration, Instant};

    let v = Arc::new(Vault::new());
    for side in ["LEFT", "RIGHT"] {
        for k in 0..3 {
            v.add(&format!("{side}_{k}"), b"0");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(4);
    let writers: Vec<_> = ["LEFT", "RIGHT"]
        .into_iter()
        .map(|side| {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                // The last acknowledged value of each of this writer's keys.
                let mut last = vec![b"0".to_vec(); 3];
                let mut round = 0u32;
                while Instant::now() < deadline {
                    round += 1;
                    let k = (round % 3) as usize;
                    let value = format!("{side}-{round}");
                    let key = format!("{side}_{k}");
                    let out = v.run(&["edit", &key, "--value-stdin"], Some(value.as_bytes()));
                    out.assert_no_panic();
                    match out.code {
                        0 => last[k] = value.into_bytes(),
                        1 => assert_eq!(out.stderr, BUSY, "{key}"),
                        other => panic!("{key}: exit {other}: {}", out.stderr),
                    }
                }
                (side, last, round)
            })
        })
        .collect();
    let reader = {
        let v = Arc::clone(&v);
        std::thread::spawn(move || {
            let mut reads = 0;
            while Instant::now() < deadline {
                let out = v.run(&["get", "LEFT_0"], None);
                out.assert_no_panic();
                match out.code {
                    0 => {
                        let text = String::from_utf8(out.stdout.clone()).unwrap();
                        assert!(text == "0" || text.starts_with("LEFT-"), "{text:?}");
                        reads += 1;
                    }
                    1 => assert_eq!(out.stderr, BUSY),
                    other => panic!("get: exit {other}: {}", out.stderr),
                }
            }
            reads
        })
    };
    for w in writers {
        let (side, last, rounds) = w.join().unwrap();
        assert!(rounds > 3, "{side} made only {rounds} attempts");
        for (k, value) in last.iter().enumerate() {
            assert_eq!(
                v.get(&format!("{side}_{k}")),
                *value,
                "{side}_{k}: a lost update"
            );
        }
    }
    assert!(reader.join().unwrap() > 0, "the reader never got through");
    v.ok(&["doctor"], None);
}
