//! What every side-by-side bench shares: one criterion group per workload,
//! with a function `evloop` and a function `tokio`, measured the same way.
//!
//! A workload is a function that builds a fresh runtime, runs one iteration
//! and returns how long the run took (runtime construction excluded), so
//! criterion's `iter_custom` sums exactly the part both runtimes are judged on.

// Every bench compiles its own copy of this module and uses part of it.
#![allow(dead_code)]

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};

/// How long criterion measures, and how it samples.
#[derive(Clone, Copy)]
pub struct Plan {
    /// Total measurement time for each of the two functions.
    pub measure: Duration,
    /// One iteration per sample (for workloads that take 500 ms or more).
    pub flat: bool,
}

impl Plan {
    /// Ten samples within `secs` seconds.
    pub fn secs(secs: u64) -> Plan {
        Plan {
            measure: Duration::from_secs(secs),
            flat: false,
        }
    }

    /// Ten samples of one iteration each, for long iterations.
    pub fn flat(secs: u64) -> Plan {
        Plan {
            measure: Duration::from_secs(secs),
            flat: true,
        }
    }
}

/// The group `name`: `elements` per iteration (criterion prints elements/s),
/// evloop's run beside tokio's.
pub fn side_by_side(
    c: &mut Criterion,
    name: &str,
    elements: u64,
    plan: Plan,
    evloop: impl Fn() -> Duration,
    tokio: impl Fn() -> Duration,
) {
    let mut group = c.benchmark_group(name);
    if plan.flat {
        group.sampling_mode(SamplingMode::Flat);
    }
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(plan.measure)
        .throughput(Throughput::Elements(elements));
    group.bench_function("evloop", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| evloop()).sum())
    });
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| tokio()).sum())
    });
    group.finish();
}
