package validator

import "github.com/prometheus/client_golang/prometheus"

// metrics are the validator's Prometheus series, prefixed agora_validator_.
type metrics struct {
	queries    *prometheus.CounterVec // by result: ok or the failure reason
	scores     *prometheus.CounterVec // by kind and reason
	weightSets *prometheus.CounterVec // by action (set, commit, reveal) and result
	judged     *prometheus.CounterVec // by result: ok, failed, dropped
	steps      prometheus.Histogram
	latency    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_validator_queries_total", Help: "Queries to miners, by result (ok, timeout, unreachable, bad_signature, status_NNN, malformed).",
		}, []string{"result"}),
		scores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_validator_scores_total", Help: "Scored answers, by task kind and reason (scored, or why the score is 0).",
		}, []string{"kind", "reason"}),
		weightSets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_validator_weight_sets_total", Help: "Weights transactions, by action (set, commit, reveal) and result (ok, failed, skipped; for reveal also expired, lost: the commit never reached a block, missing: lost or expired).",
		}, []string{"action", "result"}),
		judged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_validator_judged_total", Help: "Answers put to the LLM judge, by result (ok, failed, dropped: the queue was full).",
		}, []string{"result"}),
		steps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "agora_validator_step_seconds", Help: "Duration of a scoring step.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "agora_validator_miner_latency_seconds", Help: "Miners' answer latency, each from its own request.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
	}
	reg.MustRegister(m.queries, m.scores, m.weightSets, m.judged, m.steps, m.latency)
	return m
}
