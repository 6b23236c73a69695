package chainclient

import (
	"context"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
)

// PublishAxon keeps the chain's axon of key's hotkey on the subnet equal to
// ext, until ctx is done: on every new snapshot of meta (it reads
// meta.Updates, so it must be that channel's one reader), if the hotkey is
// registered and its axon differs, it sends serve_axon (at most once every
// ten seconds; failures are logged and retried). A miner announces where
// validators query it; a validator where its /scores is read, and only
// once it holds a validator permit (needPermit): before that, other
// validators would take its axon for a miner's.
func PublishAxon(ctx context.Context, client *Client, meta *MetagraphCache, key *keys.PrivateKey, netuid uint16, ext netip.AddrPort, needPermit bool, log *zap.Logger) error {
	want := ext.String()
	id := chain.AccountID(key.PublicKey())
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-meta.Updates():
		}
		n, ok := meta.Lookup(id)
		switch {
		case !ok:
			continue // ReportStanding says so each epoch, with how to register
		case needPermit && !n.ValidatorPermit:
			continue // ReportStanding says so each epoch, with the stake it needs
		case n.Axon != nil && n.Axon.Addr == want:
			continue
		case time.Since(last) < 10*time.Second:
			continue
		}
		last = time.Now()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		r, err := client.SendTx(tctx, key, &chain.ServeAxon{Netuid: netuid, IP: ext.Addr().As16(), Port: ext.Port(), Protocol: 0})
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
