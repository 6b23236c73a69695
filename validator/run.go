package validator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/internal/advertise"
	"github.com/seed0ffb8d46/agora/protocol"
)

// RunConfig configures the validator daemon: a Validator (Config, whose
// Metagraph and Chain Run fills in) following the node at Node.
type RunConfig struct {
	Config
	// Node is the RPC address of an Agora node.
	Node string
	// Listen, if not empty, is the host:port of /metrics, /healthz,
	// /readyz and /scores (api.ValidatorScores).
	Listen string
	// OnListen, if set, is called with the bound address.
	OnListen func(addr net.Addr)
	// PublicAddr, when valid, is where others reach Listen: the validator
	// announces it on chain as its axon (serve_axon, as a miner does), so
	// that miners find its /scores (`agora miner status`). An unspecified
	// IP (0.0.0.0, ::) is detected by advertise.Address (the listen IP if
	// it names one, the route to Node, an interface, else 127.0.0.1 with
	// a warning); port 0 takes the bound port.
	PublicAddr netip.AddrPort
	// RegisterHint is the command that registers the hotkey, which the
	// line of each epoch shows while it is not registered; default a
	// generic one.
	RegisterHint string
}

// Run runs the validator daemon until ctx is cancelled: it follows the
// subnet's metagraph from the node, steps every StepInterval, and serves
// its probes and metrics on Listen. While the metagraph cannot be loaded
// it logs why (at once, then every 30 seconds) and /readyz says it.
func Run(ctx context.Context, cfg RunConfig) error {
	client, err := chainclient.New(cfg.Node)
	if err != nil {
		return fmt.Errorf("validator: node: %w", err)
	}
	defer client.Close()
	meta := chainclient.NewMetagraphCache(client, cfg.Netuid, chainclient.MetagraphOptions{})
	cfg.Config.Metagraph, cfg.Config.Chain = meta, client
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	v, err := New(cfg.Config)
	if err != nil {
		return err
	}
	defer v.Close()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return meta.Run(gctx) })
	g.Go(func() error { meta.LogProblems(gctx, v.log, 30*time.Second); return nil })
	g.Go(func() error {
		chainclient.ReportStanding(gctx, meta, chainclient.StandingConfig{
			Hotkey: chain.AccountID(cfg.Key.PublicKey()), Role: chainclient.RoleValidator, Prefix: "agora_validator",
			Registry: cfg.Registry, Logger: v.log, RegisterHint: cfg.RegisterHint,
		})
		return nil
	})
	g.Go(func() error {
		// The first step waits for the first metagraph.
		for {
			if _, _, ok := meta.Snapshot(); ok {
				break
			}
			select {
			case <-gctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
		return v.Run(gctx)
	})
	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("validator: listen: %w", err)
		}
		if cfg.OnListen != nil {
			cfg.OnListen(ln.Addr())
		}
		if pub := cfg.PublicAddr; pub.Addr().IsValid() {
			bound := ln.Addr().(*net.TCPAddr).AddrPort()
			adv := advertise.Address(pub.Addr(), "validator.public_addr", bound.Addr(), client.HostPort())
			pub = netip.AddrPortFrom(adv.Addr, pub.Port())
			if pub.Port() == 0 {
				pub = netip.AddrPortFrom(pub.Addr(), bound.Port())
			}
			if w := adv.Problem("miners", "--validator.listen", "--validator.public_addr IP:PORT"); w != "" {
				v.log.Warn(w, zap.Stringer("axon", pub), zap.String("how", adv.String()))
			} else {
				v.log.Info("announcing /scores on chain once this validator holds a permit", zap.Stringer("axon", pub), zap.String("how", adv.String()))
			}
			g.Go(func() error {
				return chainclient.PublishAxon(gctx, client, meta, cfg.Key, cfg.Netuid, pub, true, v.log)
			})
		}
		srv := &http.Server{Handler: v.handler(meta, cfg.Registry), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			err := srv.Serve(ln)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("validator: serve: %w", err)
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	v.log.Info("validating", zap.String("node", cfg.Node), zap.String("state", cfg.StatePath))
	return g.Wait()
}

// handler serves the validator's probes and metrics.
func (v *Validator) handler(meta *chainclient.MetagraphCache, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if view, h, ok := meta.Snapshot(); ok && !meta.Stale() {
			body := map[string]any{"ready": true, "height": h}
			// Ready: it scores. But without a permit it sets no weights.
			if n, ok := meta.Lookup(chain.AccountID(v.cfg.Key.PublicKey())); !ok {
				body["note"] = "not registered on the subnet"
			} else if !n.ValidatorPermit {
				s := chainclient.StandingOf(view, chain.AccountID(v.cfg.Key.PublicKey()), chainclient.RoleValidator)
				body["note"] = "no validator permit: scoring, but setting no weights until it has one"
				body["stake"], body["stake_needed"] = s.Stake, s.StakeNeeded
			}
			_ = json.NewEncoder(w).Encode(body)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		body := map[string]any{"ready": false, "reason": "no fresh metagraph"}
		if err := meta.Err(); err != nil {
			body["error"] = err.Error() // why: the node is down, the subnet unknown...
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET "+api.PathScores, func(w http.ResponseWriter, r *http.Request) {
		// Signed, so a miner that read it knows which validator said it.
		body, err := json.Marshal(v.Report())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := protocol.SignReport(w, r, body, v.cfg.Key, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return mux
}
