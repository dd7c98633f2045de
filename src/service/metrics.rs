//! Prometheus metrics of the decisions and the daemon (the daemon serves them as OpenMetrics
//! text on `GET /metrics` when `[metrics] listen` is set: `daemon::metrics`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// `outcome` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// accepted, skipped, rejected, exempt, error.
    pub outcome: String,
}

/// `source` label of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// cache or fresh.
    pub source: String,
}

/// `kind` label of registry errors.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// network, timeout, status, unauthorized, not_found, digest_mismatch, too_large,
    /// protocol, config.
    pub kind: String,
}

/// `result` label of reloads.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// success or failure.
    pub result: String,
}

fn latency_histogram() -> Histogram {
    // 50 µs to ~26 s: cached answers sit at the bottom, registry round trips in the middle.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_05, 2.0, 20,
    ))
}

/// Every metric notaryd exports.
pub struct Metrics {
    registry: Registry,
    /// Verify calls by outcome.
    pub verifications: Family<OutcomeLabels, Counter>,
    /// Verify latency by source.
    pub latency: Family<SourceLabels, Histogram, fn() -> Histogram>,
    /// Cache hits.
    pub cache_hits: Counter,
    /// Cache misses.
    pub cache_misses: Counter,
    /// Registry errors by kind.
    pub registry_errors: Family<KindLabels, Counter>,
    /// Reloads by result.
    pub reloads: Family<ResultLabels, Counter>,
    /// Seconds since the installed revocation bundle was created (-1 without one).
    pub revocation_age: Gauge<f64, AtomicU64>,
    /// The configuration generation serving.
    pub generation: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `notaryd` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("notaryd");
        let verifications = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "verifications",
            "Verify calls answered, by outcome",
            verifications.clone(),
        );
        let latency = Family::<SourceLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "verify_duration_seconds",
            "Time to answer Verify, by source (cache or fresh)",
            latency.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Verify calls answered from the verdict cache",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "cache_misses",
            "Verify calls that needed a verification",
            cache_misses.clone(),
        );
        let registry_errors = Family::<KindLabels, Counter>::default();
        registry.register(
            "registry_errors",
            "Verifications that failed to read from a registry, by kind",
            registry_errors.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reloads",
            "Configuration reloads, by result",
            reloads.clone(),
        );
        let revocation_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "revocation_set_age_seconds",
            "Seconds since the installed revocation bundle was created (-1 without one)",
            revocation_age.clone(),
        );
        let generation = Gauge::default();
        registry.register(
            "config_generation",
            "The configuration generation serving",
            generation.clone(),
        );
        Self {
            registry,
            verifications,
            latency,
            cache_hits,
            cache_misses,
            registry_errors,
            reloads,
            revocation_age,
            generation,
        }
    }

    /// Counts one answer.
    pub fn observe(&self, outcome: &str, cached: bool, seconds: f64) {
        self.verifications
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
        self.latency
            .get_or_create(&SourceLabels {
                source: if cached { "cache" } else { "fresh" }.to_owned(),
            })
            .observe(seconds);
        if cached {
            self.cache_hits.inc();
        } else {
            self.cache_misses.inc();
        }
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
