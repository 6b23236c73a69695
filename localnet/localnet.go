// Package localnet runs the whole network on one machine: a chain of one
// or more CometBFT validators, a subnet with a fast tempo and two
// incentive mechanisms (inference and labels), miners on the built-in
// model with simulated labelers, validators, and the dashboard, all in one
// process (DESIGN.md section 10). With Adversaries it adds the cheats the
// network must not pay (package miner/cheat): junk, lazy and wrong-model
// miners; copiers whole, cut short and paraphrased; canned text dressed in
// the model's log-probabilities; the honest model truncated, or greedy when
// sampling was asked; five sybil hotkeys sharing one model run; labelers
// that click at random, always left, the longer side, or only where the
// gap is clear; and a weight-copying validator.
//
// Everything lives in Config.Dir: the chain's homes, the keys of every
// participant, the miners' labels and the validators' state. Running again
// on the same folder resumes the same network.
package localnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/dashboard"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/miner/cheat"
	"github.com/seed0ffb8d46/agora/node"
	"github.com/seed0ffb8d46/agora/rlhf"
	"github.com/seed0ffb8d46/agora/scoring"
	"github.com/seed0ffb8d46/agora/validator"
)

// Netuid is the demo subnet.
const Netuid = 1

// Config configures a local network. Dir and Model are required.
type Config struct {
	// Dir holds the network's data; reused when it exists.
	Dir string
	// Nodes is the number of chain validators (CometBFT nodes); default 1.
	Nodes int
	// Miners is the number of honest miners; default 3.
	Miners int
	// Validators is the number of subnet validators; default 2.
	Validators int
	// Model and Tokenizer are the built-in engine's llama2.c checkpoint (or
	// a folder holding one, llm.FindCheckpoint) and its tokenizer.model
	// (found beside the checkpoint when "", llm.FindTokenizer).
	Model, Tokenizer string
	// Adversaries adds the cheats (see the package comment).
	Adversaries bool
	// BlockTime is the pause after each block; default 250ms.
	BlockTime time.Duration
	// Tempo is the subnet's epoch length in blocks; default 20.
	Tempo uint64
	// Dashboard is the dashboard's listen address; default 127.0.0.1:8080
	// ("127.0.0.1:0" picks a port).
	Dashboard string
	// StepInterval and QueryTimeout tune the validators; defaults 2s and
	// 10s.
	StepInterval, QueryTimeout time.Duration
	// Progress receives what the network is doing while it starts and the
	// URLs once it runs; nil discards it.
	Progress io.Writer
	// Logger logs the components; nil logs nothing.
	Logger *zap.Logger
	// Balances are extra genesis balances (a new chain only), say to fund
	// a wallet of one's own to join the demo.
	Balances []chain.GenesisBalance
	// OnReady, when set, is called once everything runs.
	OnReady func(Info)
}

// Info is what a running network offers.
type Info struct {
	// RPC is node 0's RPC address.
	RPC string
	// Dashboard is the dashboard's URL.
	Dashboard string
	// Miners and Validators list the participants by name.
	Miners     []Participant
	Validators []Participant
}

// Participant is one miner or validator of the network.
type Participant struct {
	Name   string
	Hotkey string // hex
	UID    uint16
	// URL is the miner's axon, or the validator's status server.
	URL string
	// LabelURL and LabelToken let a person label on a miner's page.
	LabelURL, LabelToken string
	// Role says what it does ("honest", "junk", "copier", ...).
	Role string
}

// roster is every participant's key, kept in Dir/keys.json.
type roster struct {
	Owner      string            `json:"owner"`      // coldkey seed, hex
	Governance string            `json:"governance"` // seed, hex
	Hotkeys    map[string]string `json:"hotkeys"`    // name → seed, hex
}

func loadRoster(path string, names []string) (*roster, error) {
	r := &roster{Hotkeys: map[string]string{}}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, r); err != nil {
			return nil, fmt.Errorf("localnet: %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("localnet: %w", err)
	}
	seed := func() string {
		var b [keys.SeedSize]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	changed := false
	if r.Owner == "" {
		r.Owner, r.Governance, changed = seed(), seed(), true
	}
	for _, n := range names {
		if r.Hotkeys[n] == "" {
			r.Hotkeys[n], changed = seed(), true
		}
	}
	if changed {
		out, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			return nil, fmt.Errorf("localnet: %w", err)
		}
	}
	return r, nil
}

func keyOf(seedHex string) *keys.PrivateKey {
	b, _ := hex.DecodeString(seedHex)
	k, err := keys.NewPrivateKeyFromSeed(b)
	if err != nil {
		panic(fmt.Sprintf("localnet: bad seed in keys.json: %v", err)) // loadRoster wrote it
	}
	return k
}

// MechanismSplit is the demo subnet's emission split between its two
// incentive mechanisms: 60% to inference (mechanism 0), 40% to labels
// (mechanism 1), as proportions of 65535.
var MechanismSplit = []uint16{39321, 26214}

// labelPace is the share of the reading time they report that the demo's
// simulated labelers wait: a fiftieth, about a fifth of a second a pair.
const labelPace = 0.02

// programLabelers are the label-quality options of the demo's validators:
// the defaults, but for reading speed, since the demo's labelers are
// programs that take a fraction of a second per pair (a network of people
// keeps the defaults, 50 characters a second).
func programLabelers() scoring.LabelOptions {
	o := scoring.DefaultLabelOptions()
	o.MaxCharsPerSec, o.MinTimeMs = 5000, 50
	return o
}

// member is a participant being set up.
type member struct {
	name, role string
	key        *keys.PrivateKey
	validator  bool
	labels     rlhf.SimPolicy // the miner's simulated labeler, nil for none
	backend    miner.Backend
	uid        uint16
	url        string
}

// Run runs the network until ctx is cancelled, then stops everything and
// returns nil (the data stays in Dir for the next run).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Dir == "" || cfg.Model == "" {
		return errors.New("localnet: Dir and Model are required")
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 1
	}
	if cfg.Miners == 0 {
		cfg.Miners = 3
	}
	if cfg.Validators == 0 {
		cfg.Validators = 2
	}
	if cfg.BlockTime == 0 {
		cfg.BlockTime = 250 * time.Millisecond
	}
	if cfg.Tempo == 0 {
		cfg.Tempo = 20
	}
	if cfg.Dashboard == "" {
		cfg.Dashboard = "127.0.0.1:8080"
	}
	if cfg.StepInterval == 0 {
		cfg.StepInterval = 2 * time.Second
	}
	if cfg.QueryTimeout == 0 {
		cfg.QueryTimeout = 10 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	say := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }
	start := time.Now()
	// The dashboard's address first: a busy port should stop us before
	// anything starts.
	ln, err := net.Listen("tcp", cfg.Dashboard)
	if err != nil {
		return fmt.Errorf("localnet: dashboard on %s: %w (choose another address with --dashboard)", cfg.Dashboard, err)
	}
	defer ln.Close()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("localnet: %w", err)
	}

	// The model, loaded once and shared by every built-in miner.
	checkpoint, err := llm.FindCheckpoint(cfg.Model)
	if err != nil {
		return fmt.Errorf("localnet: model: %w", err)
	}
	say("loading the model %s", checkpoint)
	tokPath := cfg.Tokenizer
	if tokPath == "" {
		found, err := llm.FindTokenizer(checkpoint)
		if err != nil {
			return fmt.Errorf("localnet: %w: give the tokenizer's path", err)
		}
		tokPath = found
	}
	tok, err := llm.LoadTokenizer(tokPath)
	if err != nil {
		return fmt.Errorf("localnet: %w", err)
	}
	raw, err := os.ReadFile(checkpoint)
	if err != nil {
		return fmt.Errorf("localnet: model: %w", err)
	}
	model, err := llm.ParseLlama(raw, tok)
	if err != nil {
		return fmt.Errorf("localnet: model %s: %w", checkpoint, err)
	}
	modelName := llm.ModelName(checkpoint)

	// The participants.
	var members []*member
	for i := range cfg.Validators {
		members = append(members, &member{name: "validator" + strconv.Itoa(i), role: "validator", validator: true})
	}
	// Careful labelers judge a pair by how well each side reads to the
	// declared model (its mean log-probability per token), a real quality
	// signal, and err on close calls as people do (each independently):
	// a difference of 0.05 nats per token is called right 73% of the
	// time, a trap's 0.2 98%.
	careful := rlhf.HumanPolicy(model.AnswerQuality, 0.05)
	honest := make([]*cheat.Recorder, cfg.Miners)
	for i := range cfg.Miners {
		honest[i] = cheat.NewRecorder(miner.NewBuiltin(model, modelName))
		members = append(members, &member{name: "miner" + strconv.Itoa(i), role: "honest", backend: honest[i], labels: careful})
	}
	if cfg.Adversaries {
		wrong, err := llm.ParseLlama(cheat.Perturb(raw), tok)
		if err != nil {
			return fmt.Errorf("localnet: %w", err)
		}
		base := miner.NewBuiltin(model, modelName)
		// The copiers copy different honest miners.
		victim := func(i int) (*cheat.Recorder, string) {
			return honest[i%len(honest)], "miner" + strconv.Itoa(i%len(honest))
		}
		copied, copiedName := victim(0)
		cut, cutName := victim(1)
		para, paraName := victim(2)
		members = append(members,
			&member{name: "junk", role: "junk", backend: cheat.Junk{Backend: base}},
			&member{name: "lazy", role: "lazy", backend: cheat.Lazy{Backend: base}},
			&member{name: "copier", role: "copier of " + copiedName, backend: &cheat.Copier{Backend: base, From: copied}},
			&member{name: "wrong_model", role: "wrong model", backend: miner.NewBuiltin(wrong, modelName)},
			&member{name: "random_labeler", role: "honest model, random labeler", backend: miner.NewBuiltin(model, modelName), labels: rlhf.RandomPolicy},
			&member{name: "left_labeler", role: "honest model, always-left labeler", backend: miner.NewBuiltin(model, modelName), labels: rlhf.AlwaysLeftPolicy},
			&member{name: "longer_labeler", role: "honest model, longer-side labeler", backend: miner.NewBuiltin(model, modelName), labels: rlhf.LongerPolicy},
			&member{name: "trap_spotter", role: "honest model, labels only clear gaps", backend: miner.NewBuiltin(model, modelName), labels: rlhf.TrapSpotterPolicy(spotGaps(model.AnswerQuality))},
			&member{name: "canned", role: "canned text, model's logprobs", backend: &cheat.Canned{Backend: base, LM: model}},
			&member{name: "truncate", role: "model cut to 10 tokens", backend: &cheat.Truncate{Backend: miner.NewBuiltin(model, modelName)}},
			&member{name: "short_copier", role: "short copy of " + cutName, backend: &cheat.ShortCopier{Backend: base, From: cut}},
			&member{name: "paraphraser", role: "paraphrase of " + paraName, backend: &cheat.Paraphraser{Backend: base, From: para, LM: model}},
			&member{name: "greedy", role: "greedy whatever asked", backend: &cheat.Greedy{Backend: miner.NewBuiltin(model, modelName)}},
		)
		// Five hotkeys, one model run per prompt: the first hands it in as
		// it is, the others edited.
		sybils := cheat.NewSybilGroup(miner.NewBuiltin(model, modelName), model)
		for i := range 5 {
			members = append(members, &member{name: "sybil" + strconv.Itoa(i), role: "sybil, one run for 5", backend: sybils.Member(i > 0)})
		}
		members = append(members, &member{name: "weight_copier", role: "weight-copying validator", validator: true})
	}
	// Every step sends its task to every miner at once: a copier can only
	// copy an answer to a prompt its victim was sent in the same round, and
	// a sybil group shares a run only between members asked together.
	miners := 0
	for _, m := range members {
		if !m.validator {
			miners++
		}
	}
	sampleSize := max(16, miners)
	var names []string
	for _, m := range members {
		names = append(names, m.name)
	}
	ros, err := loadRoster(filepath.Join(cfg.Dir, "keys.json"), names)
	if err != nil {
		return err
	}
	owner, gov := keyOf(ros.Owner), keyOf(ros.Governance)
	for _, m := range members {
		m.key = keyOf(ros.Hotkeys[m.name])
	}

	// The chain.
	chainDir := filepath.Join(cfg.Dir, "chain")
	resumed := true
	if _, err := os.Stat(filepath.Join(node.TestnetHome(chainDir, 0), "config", "genesis.json")); errors.Is(err, fs.ErrNotExist) {
		resumed = false
		say("writing a %d-node chain under %s", cfg.Nodes, chainDir)
		err := node.Testnet(chainDir, cfg.Nodes, node.TestnetOptions{
			ChainID: "agora-localnet",
			Balances: append([]chain.GenesisBalance{
				{Account: owner.PublicKey().Hex(), Amount: SubnetOwnerBalance},
				{Account: gov.PublicKey().Hex(), Amount: 100 * chain.Unit}, // fees of set_emission
			}, cfg.Balances...),
			Governance: gov.PublicKey().Hex(),
			BlockTime:  cfg.BlockTime,
		})
		if err != nil {
			return fmt.Errorf("localnet: %w", err)
		}
	} else {
		say("resuming the chain under %s", chainDir)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, 64)
	goRun := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				err = fmt.Errorf("localnet: %s: %w", what, err)
				say("%v; stopping", err)
				errc <- err
				cancel()
			}
		}()
	}
	nodes := make([]*node.Node, cfg.Nodes)
	for i := range nodes {
		nd, err := node.New(node.TestnetHome(chainDir, i), cfg.Logger.With(zap.String("node", "node"+strconv.Itoa(i))))
		if err != nil {
			for _, o := range nodes[:i] {
				_ = o.Close()
			}
			return fmt.Errorf("localnet: node %d: %w", i, err)
		}
		nodes[i] = nd
		goRun("node"+strconv.Itoa(i), func() error { return nd.Run(ctx) })
	}
	for _, nd := range nodes {
		select {
		case <-nd.Ready():
		case <-ctx.Done():
			return firstErr(errc)
		}
	}
	rpc := nodes[0].RPCAddress()
	client, err := chainclient.New(rpc)
	if err != nil {
		return fmt.Errorf("localnet: %w", err)
	}
	defer client.Close()
	say("chain running: %d node(s), rpc %s", cfg.Nodes, nodes[0].RPCURL())
	removeRecord, err := WriteRecord(cfg.Dir, Record{RPC: rpc, PID: os.Getpid()})
	if err != nil {
		return err
	}
	defer removeRecord()
	if resumed {
		// The genesis is written: --balance goes through the funding
		// path instead, as agora localnet fund does.
		if err := FundAll(ctx, client, owner, cfg.Balances, say); err != nil {
			return err
		}
	}

	// The subnet and its members, on chain.
	if err := setup(ctx, client, owner, gov, members, cfg, say); err != nil {
		if ctx.Err() != nil {
			return firstErr(errc)
		}
		return err
	}

	// Miners.
	info := Info{RPC: rpc}
	var infoMu sync.Mutex
	var ready sync.WaitGroup
	for _, m := range members {
		if m.validator {
			continue
		}
		dir := filepath.Join(cfg.Dir, "miners", m.name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("localnet: %w", err)
		}
		tokens, err := rlhf.OpenTokens(filepath.Join(dir, miner.LabelersFile))
		if err != nil {
			return fmt.Errorf("localnet: %w", err)
		}
		simToken, err := issue(tokens, "sim")
		if err != nil {
			return err
		}
		youToken, err := issue(tokens, "you")
		if err != nil {
			return err
		}
		ready.Add(1)
		goRun("miner "+m.name, func() error {
			return miner.Run(ctx, miner.RunConfig{
				Config:    miner.Config{Key: m.key, Backend: m.backend, RateLimit: 0, Logger: cfg.Logger.Named(m.name)},
				Node:      rpc,
				Netuid:    Netuid,
				Listen:    "127.0.0.1:0",
				LabelsDir: dir,
				OnListen: func(a net.Addr) {
					m.url = "http://" + a.String()
					p := Participant{Name: m.name, Hotkey: m.key.PublicKey().Hex(), UID: m.uid, URL: m.url, LabelURL: m.url + "/label/", LabelToken: youToken, Role: m.role}
					infoMu.Lock()
					info.Miners = append(info.Miners, p)
					infoMu.Unlock()
					if m.labels != nil {
						sim := &rlhf.SimLabeler{URL: "ws://" + a.String() + "/label/ws", Token: simToken, Policy: m.labels, Seed: uint64(m.uid) + 1, Pace: labelPace}
						wg.Add(1)
						go func() { // a labeler that fails does not stop the network
							defer wg.Done()
							if err := sim.Run(ctx); err != nil {
								say("labeler of %s stopped: %v", m.name, err)
							}
						}()
					}
					ready.Done()
				},
			})
		})
	}
	ready.Wait()
	say("miners serving: %d", len(info.Miners))

	// Validators, and the dashboard that reads them.
	var validatorURLs []string
	var vready sync.WaitGroup
	for i, m := range members {
		if !m.validator {
			continue
		}
		if m.name == "weight_copier" {
			goRun("weight copier", func() error {
				copyWeights(ctx, client, m.key, Netuid, members[0].uid, time.Second, cfg.Logger.Named(m.name))
				return nil
			})
			infoMu.Lock()
			info.Validators = append(info.Validators, Participant{Name: m.name, Hotkey: m.key.PublicKey().Hex(), UID: m.uid, Role: m.role})
			infoMu.Unlock()
			continue
		}
		vdir := filepath.Join(cfg.Dir, "validators", m.name)
		vready.Add(1)
		goRun("validator "+m.name, func() error {
			return validator.Run(ctx, validator.RunConfig{
				Config: validator.Config{
					Key: m.key, Netuid: Netuid, StatePath: filepath.Join(vdir, "state.json"), DatasetDir: filepath.Join(vdir, "dataset"),
					Exact: model, VerifyModel: modelName,
					SampleSize: sampleSize, StepInterval: cfg.StepInterval, QueryTimeout: cfg.QueryTimeout,
					ReferenceShare: 0.2, PreferenceShare: 0.3, Seed: uint64(i + 1), DatasetEvery: 5,
					LabelOptions:      programLabelers(),
					AllowPrivateAxons: true, // every miner is on loopback
					Logger:            cfg.Logger.Named(m.name),
				},
				Node:   rpc,
				Listen: "127.0.0.1:0",
				// Announced on chain once it holds a permit, so that
				// agora miner status finds its /scores.
				PublicAddr: netip.MustParseAddrPort("127.0.0.1:0"),
				OnListen: func(a net.Addr) {
					url := "http://" + a.String()
					infoMu.Lock()
					validatorURLs = append(validatorURLs, url)
					info.Validators = append(info.Validators, Participant{Name: m.name, Hotkey: m.key.PublicKey().Hex(), UID: m.uid, URL: url, Role: m.role})
					infoMu.Unlock()
					vready.Done()
				},
			})
		})
	}
	vready.Wait()
	dash, err := dashboard.New(dashboard.Config{Client: client, Netuid: Netuid, Validators: validatorURLs, Logger: cfg.Logger.Named("dashboard"),
		MechanismNames: []string{"inference", "labels"}})
	if err != nil {
		return fmt.Errorf("localnet: %w", err)
	}
	srv := &http.Server{Handler: dash.Handler(), ReadHeaderTimeout: 10 * time.Second}
	goRun("dashboard", func() error { return dash.Run(ctx) })
	goRun("dashboard server", func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	context.AfterFunc(ctx, func() {
		sctx, c := context.WithTimeout(context.Background(), 3*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	})
	info.Dashboard = "http://" + ln.Addr().String() + "/"
	slices.SortFunc(info.Miners, func(a, b Participant) int { return int(a.UID) - int(b.UID) })
	slices.SortFunc(info.Validators, func(a, b Participant) int { return int(a.UID) - int(b.UID) })

	say("")
	say("Agora is running (started in %s). Ctrl-C stops it; %s keeps its data.", time.Since(start).Round(100*time.Millisecond), cfg.Dir)
	say("  dashboard:  %s", info.Dashboard)
	say("  chain rpc:  %s", nodes[0].RPCURL())
	say("  export AGORA_NODE=%s   # for other shells; agora finds this localnet without it", rpc)
	say("  subnet %d:  two markets: mechanism 0 pays inference (%.0f%% of the emission), mechanism 1 pays labels (%.0f%%)", Netuid,
		float64(MechanismSplit[0])/655.35, float64(MechanismSplit[1])/655.35)
	roleWidth := 0
	for _, p := range info.Miners {
		roleWidth = max(roleWidth, len(p.Role))
	}
	for _, p := range info.Miners {
		say("  miner %-17s uid %-2d %-*s label at %s with token %s", p.Name, p.UID, roleWidth, p.Role, p.LabelURL, p.LabelToken)
	}
	for _, p := range info.Validators {
		if p.URL == "" {
			say("  validator %-13s uid %-2d %s", p.Name, p.UID, p.Role)
		} else {
			say("  validator %-13s uid %-2d %s, scores at %s/scores", p.Name, p.UID, p.Role, p.URL)
		}
	}
	if cfg.OnReady != nil {
		cfg.OnReady(info)
	}
	<-ctx.Done()
	return firstErr(errc)
}

// issue gives a labeler a fresh token (rotating it if the labeler exists:
// tokens are shown once).
func issue(t *rlhf.Tokens, name string) (string, error) {
	tok, err := t.Add(name)
	if errors.Is(err, rlhf.ErrLabelerExists) {
		tok, err = t.Rotate(name)
	}
	if err != nil {
		return "", fmt.Errorf("localnet: labeler %s: %w", name, err)
	}
	return tok, nil
}

func firstErr(errc chan error) error {
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// setup creates the subnet, gives it the emission, and registers and
// stakes its members, skipping whatever an earlier run already did.
func setup(ctx context.Context, client *chainclient.Client, owner, gov *keys.PrivateKey, members []*member, cfg Config, say func(string, ...any)) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	send := func(what string, key *keys.PrivateKey, body chain.Body) error {
		if _, err := client.SendTx(ctx, key, body); err != nil {
			return fmt.Errorf("localnet: %s: %w", what, err)
		}
		return nil
	}
	if _, err := client.Subnet(ctx, Netuid); err != nil {
		say("creating subnet %d (tempo %d blocks)", Netuid, cfg.Tempo)
		p := chain.DefaultHyperparams()
		validators := 0
		for _, m := range members {
			if m.validator {
				validators++
			}
		}
		p.Tempo, p.MaxUIDs, p.MaxValidators, p.MinBurn, p.WeightsRateLimit, p.ServingRateLimit = cfg.Tempo, 64, uint16(validators), chain.Unit/10, cfg.Tempo/2, 10
		p.ImmunityPeriod, p.ActivityCutoff = 10_000, 10_000
		// Every member registers at once, in the first interval.
		p.TargetRegistrations = uint16(len(members))
		// Commit-reveal: a weight copier only sees weights once revealed,
		// an epoch after the validators chose them.
		p.CommitReveal, p.RevealPeriodEpochs = true, 1
		// Two markets: mechanism 0 pays inference, mechanism 1 labels.
		p.MechanismCount, p.MechanismSplit = 2, MechanismSplit
		if err := send("create subnet", owner, &chain.CreateSubnet{Params: p}); err != nil {
			return err
		}
		if err := send("set emission", gov, &chain.SetEmission{PerBlock: chain.Unit, Shares: []chain.SubnetShare{{Netuid: Netuid, Share: 1}}}); err != nil {
			return err
		}
	}
	mg, err := client.Metagraph(ctx, Netuid)
	if err != nil {
		return fmt.Errorf("localnet: %w", err)
	}
	uid := map[string]uint16{}
	for _, n := range mg.Neurons {
		uid[n.Hotkey] = n.UID
	}
	for _, m := range members {
		hk := chain.AccountID(m.key.PublicKey())
		if u, ok := uid[hk.String()]; ok {
			m.uid = u
			continue
		}
		say("registering %s", m.name)
		r, err := client.Register(ctx, owner, m.key, Netuid, 100*chain.Unit)
		if err != nil {
			return fmt.Errorf("localnet: register %s: %w", m.name, err)
		}
		for _, e := range r.Events {
			for _, a := range e.Attributes {
				if a.Key == "uid" {
					n, _ := strconv.Atoi(a.Value)
					m.uid = uint16(n)
				}
			}
		}
		if m.validator {
			if err := send("stake "+m.name, owner, &chain.AddStake{Hotkey: hk, Amount: 10_000 * chain.Unit}); err != nil {
				return err
			}
		}
	}
	return nil
}
