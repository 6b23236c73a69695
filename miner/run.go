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
	// External is the address published on chain; a zero address takes
	// the listen IP (127.0.0.1 if it is unspecified), a zero port the
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
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("miner: listen: %w", err)
	}
	defer ln.Close() // Serve closes it too; this is for the errors before
	bound := ln.Addr().(*net.TCPAddr).AddrPort()
	ext := cfg.External
	if !ext.Addr().IsValid() || ext.Addr().IsUnspecified() {
		ip := bound.Addr().Unmap()
		if ip.IsUnspecified() {
			ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		ext = netip.AddrPortFrom(ip, ext.Port())
	}
	if ext.Port() == 0 {
		ext = netip.AddrPortFrom(ext.Addr(), bound.Port())
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
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if err := cfg.Backend.Ready(pctx); err != nil {
		log.Warn("the backend does not answer; serving anyway, /readyz says 503 until it does", zap.Error(err))
	}
	cancel()
	if cfg.OnListen != nil {
		cfg.OnListen(ln.Addr())
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return meta.Run(gctx) })
	g.Go(func() error { meta.LogProblems(gctx, log, 30*time.Second); return nil })
	g.Go(func() error { return m.Serve(gctx, ln) })
	g.Go(func() error { return publishAxon(gctx, client, meta, cfg, ext, log) })
	return g.Wait()
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

// publishAxon keeps the chain's axon of the hotkey equal to ext: on every
// new metagraph, if the hotkey is registered and its axon differs, it sends
// serve_axon (at most once every ten seconds; failures are logged and
// retried).
func publishAxon(ctx context.Context, client *chainclient.Client, meta *chainclient.MetagraphCache, cfg RunConfig, ext netip.AddrPort, log *zap.Logger) error {
	want := ext.String()
	id := chain.AccountID(cfg.Key.PublicKey())
	var last time.Time
	warned := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-meta.Updates():
		}
		n, ok := meta.Lookup(id)
		switch {
		case !ok:
			if !warned {
				hint := cfg.RegisterHint
				if hint == "" {
					hint = fmt.Sprintf("agora tx register --wallet WALLET --hotkey NAME --netuid %d", cfg.Netuid)
				}
				log.Warn("hotkey is not registered on the subnet; waiting (register it with: " + hint + ")")
				warned = true
			}
			continue
		case n.Axon != nil && n.Axon.Addr == want:
			continue
		case time.Since(last) < 10*time.Second:
			continue
		}
		last = time.Now()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ip := ext.Addr().As16()
		r, err := client.SendTx(tctx, cfg.Key, &chain.ServeAxon{Netuid: cfg.Netuid, IP: ip, Port: ext.Port(), Protocol: 0})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("publish axon", zap.Error(err))
			continue
		}
		log.Info("axon published", zap.String("axon", want), zap.Uint16("uid", n.UID), zap.Int64("height", r.Height))
	}
}
