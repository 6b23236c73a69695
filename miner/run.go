package miner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/internal/advertise"
	"github.com/seed0ffb8d46/agora/llm"
)

// RunConfig configures the miner daemon: a Miner (Config, whose Metagraph
// Run fills in) serving on Listen, following the chain at Node.
type RunConfig struct {
	Config
	// Node is the RPC address of an Agora node.
	Node string
	// Netuid is the subnet the miner serves.
	Netuid uint16
	// Listen is the host:port to listen on (port 0 picks one).
	Listen string
	// External is the address published on chain; a zero or unspecified
	// address takes the listen IP, or, if that is unspecified (0.0.0.0,
	// ::), the one detected by advertise.Address (the route to Node, an
	// interface, else 127.0.0.1 with a warning); a zero port takes the
	// listen port.
	External netip.AddrPort
	// OnListen, if set, is called with the bound address before serving.
	OnListen func(addr net.Addr)
	// RegisterHint is the command that registers the hotkey, which the
	// warning about an unregistered hotkey shows; default a generic one.
	RegisterHint string
	// LabelsDir, when not empty, holds the labels, the task queue and the
	// labelers' tokens: the miner then serves human preference labels
	// (Config.Labels is opened from it).
	LabelsDir string
	// LabelURL, if set, is the public URL of the labelling page when it
	// is reached by another name than External (a domain, a proxy with
	// TLS), such as https://label.example.com/label/. Pages may open the
	// labelling websocket only from its origin, from External's and the
	// listen address's (http), or from the miner's own machine.
	LabelURL string
}

// Run runs the miner daemon until ctx is cancelled: it follows the
// subnet's metagraph from the node, serves on Listen, and publishes its
// axon on chain (a serve_axon transaction signed by the hotkey) whenever
// the hotkey is registered and the chain's axon differs from External.
// A hotkey that is not registered yet is waited for, with a warning; the
// miner answers /readyz with 503 meanwhile. So is a metagraph that cannot
// be loaded (the node is down, the subnet unknown): it warns with the
// error at once and every 30 seconds, and /readyz gives the error.
//
// A backend that answers at start but does not list the model is an error
// wrapping *llm.ModelNotServedError; one that does not answer is warned
// about, and logged again once it answers.
func Run(ctx context.Context, cfg RunConfig) error {
	if cfg.Key == nil {
		return errors.New("miner: no hotkey")
	}
	client, err := chainclient.New(cfg.Node)
	if err != nil {
		return fmt.Errorf("miner: node: %w", err)
	}
	defer client.Close()
	meta := chainclient.NewMetagraphCache(client, cfg.Netuid, chainclient.MetagraphOptions{})
	cfg.Config.Metagraph = meta
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	cfg.Config.Logger = log.With(zap.Uint16("netuid", cfg.Netuid)) // New adds component and hotkey
	log = log.With(zap.String("component", "miner"), zap.String("hotkey", cfg.Key.Address()), zap.Uint16("netuid", cfg.Netuid))
	// The backend before the port: a server that answers without the
	// model would fail every request, so that is an error now. One that
	// does not answer yet is only warned about: vLLM takes minutes to
	// load a model, and is usually started beside the miner.
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	backendErr := cfg.Backend.Ready(pctx)
	cancel()
	var notServed *llm.ModelNotServedError
	if errors.As(backendErr, &notServed) {
		return fmt.Errorf("miner: %w", backendErr)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("miner: listen: %w", err)
	}
	defer ln.Close() // Serve closes it too; this is for the errors before
	bound := ln.Addr().(*net.TCPAddr).AddrPort()
	// Where validators reach the miner: the labelling page's origins and
	// the axon on chain both use it.
	adv := advertise.Address(cfg.External.Addr(), "miner.external_ip", bound.Addr(), client.HostPort())
	ext := netip.AddrPortFrom(adv.Addr, cfg.External.Port())
	if ext.Port() == 0 {
		ext = netip.AddrPortFrom(ext.Addr(), bound.Port())
	}
	if w := adv.Problem("validators", "--miner.listen", "--miner.external_ip"); w != "" {
		log.Warn(w, zap.Stringer("axon", ext), zap.String("how", adv.String()))
	} else {
		log.Info("advertising axon", zap.Stringer("axon", ext), zap.String("how", adv.String()))
	}
	if cfg.LabelsDir != "" {
		origins, err := labelOrigins(cfg.LabelURL, ext, bound)
		if err != nil {
			return err
		}
		labels, err := OpenLabels(cfg.LabelsDir, cfg.Key.Address(), origins, log.Named("labels"))
		if err != nil {
			return err
		}
		defer labels.Close()
		cfg.Config.Labels = labels
	}
	m, err := New(cfg.Config)
	if err != nil {
		return err
	}
	log.Info("serving", zap.Stringer("listen", bound), zap.Stringer("axon", ext), zap.String("model", cfg.Backend.Model()), zap.String("node", cfg.Node))
	if backendErr != nil {
		log.Warn("the backend does not answer; serving anyway, /readyz says 503 until it answers and lists the model", zap.String("model", cfg.Backend.Model()), zap.Error(backendErr))
	}
	if cfg.OnListen != nil {
		cfg.OnListen(ln.Addr())
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return meta.Run(gctx) })
	g.Go(func() error { meta.LogProblems(gctx, log, 30*time.Second); return nil })
	g.Go(func() error {
		chainclient.ReportStanding(gctx, meta, chainclient.StandingConfig{
			Hotkey: chain.AccountID(cfg.Key.PublicKey()), Role: chainclient.RoleMiner, Prefix: "agora_miner",
			Registry: m.registry, Logger: log, RegisterHint: cfg.RegisterHint,
		})
		return nil
	})
	g.Go(func() error { return m.Serve(gctx, ln) })
	g.Go(func() error { watchBackend(gctx, cfg.Backend, log, 5*time.Second, backendErr); return nil })
	g.Go(func() error { return chainclient.PublishAxon(gctx, client, meta, cfg.Key, cfg.Netuid, ext, false, log) })
	return g.Wait()
}

// watchBackend probes the backend every interval for as long as the miner
// runs and logs each change of what it finds (answers and serves the
// model; answers with other models; does not answer), so an operator sees
// in the log, not only in /readyz, a model server that restarted with
// another model or went away. up is what the start-up check found.
func watchBackend(ctx context.Context, b Backend, log *zap.Logger, interval time.Duration, up error) {
	state := func(err error) string {
		var notServed *llm.ModelNotServedError
		switch {
		case err == nil:
			return "serving"
		case errors.As(err, &notServed):
			return "wrong_model"
		}
		return "down"
	}
	last := state(up)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := b.Ready(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		now := state(err)
		if now == last {
			continue
		}
		last = now
		switch now {
		case "serving":
			log.Info("the backend answers and serves the model", zap.String("model", b.Model()))
		case "wrong_model":
			log.Error("the backend answers but does not serve the miner's model; /readyz says 503 until it does", zap.Error(err))
		default:
			log.Error("the backend does not answer; /readyz says 503 until it does", zap.String("model", b.Model()), zap.Error(err))
		}
	}
}

// labelOrigins are the origins the labelling page may be opened from:
// the advertised axon's and the listen address's (unless unspecified),
// over http, and publicURL's, if set.
func labelOrigins(publicURL string, ext, bound netip.AddrPort) ([]string, error) {
	origins := []string{"http://" + ext.String()}
	if !bound.Addr().IsUnspecified() && bound != ext {
		origins = append(origins, "http://"+bound.String())
	}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("miner: label URL %q is not an http(s)://host[:port]/... URL", publicURL)
		}
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return origins, nil
}
