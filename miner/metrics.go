package miner

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the miner's Prometheus series, all prefixed agora_miner_.
type metrics struct {
	requests   *prometheus.CounterVec   // by endpoint and status code
	rejections *prometheus.CounterVec   // by reason
	latency    *prometheus.HistogramVec // whole request, by endpoint
	firstToken *prometheus.HistogramVec // time to the first streamed chunk
	tokens     prometheus.Counter
	tokensRate prometheus.Histogram // completion tokens per second of each request
	queueDepth prometheus.GaugeFunc
	inflight   prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, q *queue, labels *Labels) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_miner_requests_total", Help: "Requests answered, by endpoint and HTTP status.",
		}, []string{"endpoint", "code"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_miner_rejections_total", Help: "Requests refused, by reason (the signed-request check's code, rate_limited, queue_full, queue_timeout, bad_request, backend_error, backend_timeout).",
		}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agora_miner_request_seconds", Help: "Time from the request's arrival to the end of its response.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
		}, []string{"endpoint"}),
		firstToken: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agora_miner_first_chunk_seconds", Help: "Time from a streamed request's arrival to its first chunk.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
		}, []string{"endpoint"}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agora_miner_completion_tokens_total", Help: "Completion tokens served.",
		}),
		tokensRate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "agora_miner_tokens_per_second", Help: "Completion tokens per second of each request, backend time only.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 16),
		}),
		queueDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "agora_miner_queue_depth", Help: "Requests waiting for the backend.",
		}, func() float64 { w, _ := q.depth(); return float64(w) }),
		inflight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "agora_miner_backend_inflight", Help: "Requests running on the backend.",
		}, func() float64 { _, r := q.depth(); return float64(r) }),
	}
	reg.MustRegister(m.requests, m.rejections, m.latency, m.firstToken, m.tokens, m.tokensRate, m.queueDepth, m.inflight)
	if labels != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "agora_miner_labelers_connected", Help: "Labelling pages connected to the hub.",
			}, func() float64 { return float64(labels.Hub.Connections()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "agora_miner_labels_stored_total", Help: "Labels stored durably (each acknowledged to its labeler).",
			}, func() float64 { return float64(labels.Store.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "agora_miner_label_tasks_queued", Help: "Validators' preference tasks waiting for labels.",
			}, func() float64 { return float64(labels.Queue.Len()) }),
		)
	}
	return m
}
