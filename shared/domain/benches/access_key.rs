//! The access key's costs: making one, refusing garbage (no store, no argon2),
//! and argon2id at the parameters the API uses.
//!
//! `cargo bench -p domain` (figures in docs/benchmarks.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use domain::{AccessKey, KeyHasher, KeyPrefix, PresentedKey};

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
    let hasher = KeyHasher::default();
    let (_, key) = AccessKey::generate(&prefix);
    let hash = hasher.hash(&key).expect("hashed");
    let presented = PresentedKey::parse(key.expose_secret(), &prefix).expect("parses");
    let mut group = c.benchmark_group("argon2id (19 MiB, t=2, p=1)");
    group.sample_size(20);
    group.bench_function("hash", |b| b.iter(|| hasher.hash(black_box(&key))));
    group.bench_function("verify", |b| {
        b.iter(|| hasher.verify(black_box(&presented), &hash))
    });
    group.finish();
}

criterion_group!(benches, access_keys, argon2id);
criterion_main!(benches);
