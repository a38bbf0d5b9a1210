//! Monitoring: `/metrics` in the Prometheus (OpenMetrics) text format, on an address of its
//! own (`METRICS_BIND`, off unless set), never on the public one. No label holds personal
//! data: routes are patterns (`/s/{token}`, never a token), states and outcomes are words.

use super::AppState;
use actix_web::{HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// The service's metrics. Counted as requests are answered; the outbox and the responses
/// are counted from the database at each scrape, so every instance reports the same.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    respondent_pages: Histogram,
    outbox: Family<StateLabels, Gauge>,
    responses: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("lagesbild");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "Requests answered, by route pattern, method and status", requests.clone());
        // 1 ms to about 4 s.
        let respondent_pages = Histogram::new(exponential_buckets(0.001, 2.0, 13));
        registry.register(
            "respondent_page_seconds",
            "Time to answer a request on a respondent's form (/s/{token})",
            respondent_pages.clone(),
        );
        let outbox = Family::<StateLabels, Gauge>::default();
        registry.register(
            "outbox_emails",
            "Emails in the outbox, by state (queued, sending, sent, failed, uncertain, skipped)",
            outbox.clone(),
        );
        let responses = Gauge::default();
        registry.register("responses_stored", "Responses stored, all rounds", responses.clone());
        Metrics { registry, requests, respondent_pages, outbox, responses }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { route: route.into(), method: method.into(), status }).inc();
        if route == "/s/{token}" {
            self.respondent_pages.observe(seconds);
        }
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics: &Arc<Metrics> = &state.metrics;
    match state.store.monitoring_counts().await {
        Ok((outbox, responses)) => {
            metrics.outbox.clear();
            for (state, n) in outbox {
                metrics.outbox.get_or_create(&StateLabels { state }).set(n);
            }
            metrics.responses.set(responses);
        }
        Err(e) => tracing::warn!("metrics: the database did not answer: {e:#}"),
    }
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &metrics.registry) {
        tracing::error!("metrics could not be written: {e}");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(text)
}
