//! Prometheus metrics of one gateway process (`GET /metrics`).
//!
//! A registry per [`Metrics`] value (not the global default registry), so several gateways in
//! one test process do not share counters.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The gateway's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by method, route pattern and status.
    pub requests: IntCounterVec,
    /// Operations not yet accepted by NxtPort.
    pub outbox_depth: IntGauge,
    /// Seconds from acceptance (202) to NxtPort's 202, by operation kind.
    pub delivery_latency: HistogramVec,
    /// Seconds a call waited for the NxtPort budget, by priority.
    pub limiter_wait: HistogramVec,
    /// NxtPort answers by endpoint group and status (`error` for transport failures).
    pub upstream_status: IntCounterVec,
    /// Notifications stored, by source (webhook | poll) and outcome (new | duplicate).
    pub notifications: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // Metric names and labels are constants of this file; registration into a fresh registry
    // cannot collide. A failure here is a programming error caught by the unit test below.
    match r {
        Ok(v) => v,
        Err(e) => panic!("metric definition error: {e}"),
    }
}

impl Metrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = must(IntCounterVec::new(
            Opts::new("gateway_http_requests_total", "HTTP requests served"),
            &["method", "route", "status"],
        ));
        let outbox_depth = must(IntGauge::new(
            "gateway_outbox_depth",
            "Operations accepted but not yet accepted by NxtPort",
        ));
        let delivery_latency = must(HistogramVec::new(
            HistogramOpts::new(
                "gateway_delivery_latency_seconds",
                "From the gateway's 202 to NxtPort's 202",
            )
            .buckets(vec![
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
            ]),
            &["kind"],
        ));
        let limiter_wait = must(HistogramVec::new(
            HistogramOpts::new(
                "gateway_limiter_wait_seconds",
                "Time a call waited for the NxtPort budget",
            )
            .buckets(vec![0.0, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0]),
            &["priority"],
        ));
        let upstream_status = must(IntCounterVec::new(
            Opts::new("gateway_upstream_responses_total", "NxtPort answers"),
            &["endpoint", "status"],
        ));
        let notifications = must(IntCounterVec::new(
            Opts::new("gateway_notifications_total", "Notifications received"),
            &["source", "outcome"],
        ));
        must(registry.register(Box::new(requests.clone())));
        must(registry.register(Box::new(outbox_depth.clone())));
        must(registry.register(Box::new(delivery_latency.clone())));
        must(registry.register(Box::new(limiter_wait.clone())));
        must(registry.register(Box::new(upstream_status.clone())));
        must(registry.register(Box::new(notifications.clone())));
        Self {
            registry,
            requests,
            outbox_depth,
            delivery_latency,
            limiter_wait,
            upstream_status,
            notifications,
        }
    }

    /// Text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_all_families() {
        let m = Metrics::new();
        m.requests
            .with_label_values(&["GET", "/health", "200"])
            .inc();
        m.outbox_depth.set(3);
        m.delivery_latency
            .with_label_values(&["discharge"])
            .observe(0.2);
        m.limiter_wait
            .with_label_values(&["background"])
            .observe(0.0);
        m.upstream_status
            .with_label_values(&["ingestion", "202"])
            .inc();
        m.notifications.with_label_values(&["webhook", "new"]).inc();
        let text = m.render();
        for name in [
            "gateway_http_requests_total",
            "gateway_outbox_depth 3",
            "gateway_delivery_latency_seconds",
            "gateway_limiter_wait_seconds",
            "gateway_upstream_responses_total",
            "gateway_notifications_total",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
