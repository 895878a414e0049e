//! The access key's costs: making one, refusing garbage (no store, no argon2),
//! and argon2id at the parameters the API uses (and those it used before).
//!
//! `cargo bench -p domain` (figures in docs/benchmarks.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use domain::{AccessKey, HASH_PARAMS, KeyHasher, KeyPrefix, PASSWORD_GRADE_PARAMS, PresentedKey};

fn access_keys(c: &mut Criterion) {
    let prefix = KeyPrefix::default();
    c.bench_function("generate an access key (OS randomness, CRC32)", |b| {
        b.iter(|| AccessKey::generate(black_box(&prefix)))
    });

    let (_, key) = AccessKey::generate(&prefix);
    let valid = key.expose_secret().to_owned();
    c.bench_function("parse a valid access key", |b| {
        b.iter(|| PresentedKey::parse(black_box(&valid), &prefix))
    });

    // One character changed: shape right, checksum wrong.
    let mut forged = valid.clone();
    let last = forged
        .pop()
        .map_or('a', |c| if c == 'a' { 'b' } else { 'a' });
    forged.push(last);
    c.bench_function("refuse a key with a wrong checksum", |b| {
        b.iter(|| {
            let refused = PresentedKey::parse(black_box(&forged), &prefix);
            assert!(refused.is_err());
        })
    });
    c.bench_function("refuse garbage of the wrong length", |b| {
        b.iter(|| PresentedKey::parse(black_box("Bearer hello"), &prefix).is_err())
    });
}

fn argon2id(c: &mut Criterion) {
    let prefix = KeyPrefix::default();
    let (_, key) = AccessKey::generate(&prefix);
    let presented = PresentedKey::parse(key.expose_secret(), &prefix).expect("parses");
    // Today's parameters, and the password-grade ones hashes had before.
    for (name, params, samples) in [
        ("argon2id (64 KiB, t=1, p=1)", HASH_PARAMS, 100),
        (
            "argon2id before (19 MiB, t=2, p=1)",
            PASSWORD_GRADE_PARAMS,
            20,
        ),
    ] {
        let hasher = KeyHasher::with(params).expect("valid parameters");
        let hash = hasher.hash(&key).expect("hashed");
        let mut group = c.benchmark_group(name);
        group.sample_size(samples);
        group.bench_function("hash", |b| b.iter(|| hasher.hash(black_box(&key))));
        group.bench_function("verify", |b| {
            b.iter(|| hasher.verify(black_box(&presented), &hash))
        });
        group.finish();
    }
}

criterion_group!(benches, access_keys, argon2id);
criterion_main!(benches);
