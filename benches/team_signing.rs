//! What member signatures cost per team write, in-process (ML-DSA-65, orion): the
//! signing key pair expanded from its seed (once per head sealed), a head signed (once
//! by a writer, twice by an admin: the head and the member list), a signature verified
//! (twice per head checked: the writer's and the member list's; a write checks the head
//! it follows and its own). The whole-process numbers come from
//! `scripts/bench-team-signing.sh`.
//!
//! Run: `cargo bench --bench team_signing`.

use criterion::{Criterion, criterion_group, criterion_main};
use orion::KP;
use orion::signer::{Seed, Signature, SigningKeyPair, VerifyingKey};

use tresor::vault::team::signing::{key_hash, seed_of, verifying_key};

fn signing(c: &mut Criterion) {
    let seed = seed_of(&[7; 32]).unwrap();
    // About the size of an encoded head and its member-list seal.
    let head = vec![0x5a_u8; 3_500];
    c.bench_function("signing key pair from the identity seed", |b| {
        b.iter(|| SigningKeyPair::try_from(&Seed::from(*seed_of(&[7; 32]).unwrap())).unwrap())
    });
    let pair = SigningKeyPair::try_from(&Seed::from(*seed)).unwrap();
    c.bench_function("sign a head", |b| {
        b.iter(|| pair.sign(&head, b"tresor/team/v1/head").unwrap())
    });
    let signature = pair.sign(&head, b"tresor/team/v1/head").unwrap();
    let raw = verifying_key(&seed).unwrap();
    c.bench_function(
        "verify a head's signature (key parsed and its hash checked)",
        |b| {
            b.iter(|| {
                assert_eq!(
                    key_hash(&raw).unwrap(),
                    key_hash(pair.public().as_ref()).unwrap()
                );
                let key = VerifyingKey::try_from(&raw[..]).unwrap();
                let sig = Signature::try_from(signature.as_ref()).unwrap();
                key.verify(&head, b"tresor/team/v1/head", &sig).unwrap()
            })
        },
    );
}

criterion_group!(benches, signing);
criterion_main!(benches);
