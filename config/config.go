// Package config is the typed configuration of every Agora daemon and command.
//
// A Config is built by Load from four layers, each overriding the one before:
//
//	defaults < YAML file < environment AGORA_* < flags that were explicitly set
//
// Load is a pure parse: it reads no files, no process environment and no
// command line of its own; the caller hands it the file's bytes, an
// environment lookup function and the parsed Flags.
//
// # Names
//
// Every setting has one dotted key, the path of yaml tags from the top of
// Config (field Log.Level with tags "log" and "level" is key "log.level").
// The other names are derived from the key, so that adding a struct field is
// all it takes to add a setting:
//
//	YAML:  log:\n  level: debug     (nested mappings, keys as in the yaml tags)
//	env:   AGORA_LOG_LEVEL=debug     ("AGORA_" + key upper-cased, "." -> "_")
//	flag:  --log.level=debug         ("--" + key verbatim; -log.level also works)
//
// yaml tags must be lower snake_case ([a-z][a-z0-9_]*), so a key such as
// miner.max_body_bytes is env AGORA_MINER_MAX_BODY_BYTES and flag
// --miner.max_body_bytes. Two keys that would map to the same environment
// variable are a programming error that Load reports.
//
// # Adding settings
//
// Add a field with a yaml tag (and optionally help:"..." for the flag's usage
// text and oneof:"a,b,c" for an enumeration) to Config or to a section struct,
// give it a default in Default, and add any check beyond oneof to
// Config.validate. Supported field types: string, bool, int, int8..int64,
// uint, uint8..uint64, time.Duration, []string, and structs of these
// (sections). Fields tagged yaml:"-" are ignored.
//
// # Value syntax
//
// In the YAML file values are YAML scalars (durations as strings such as
// "30s", lists as YAML sequences); a null value leaves the setting as it was.
// In the environment and on the command line values use Go syntax:
// strconv.ParseBool for bools, base-10 integers, time.ParseDuration for
// durations, and comma-separated items for []string. An environment variable
// that is unset or empty leaves the setting as it was. A repeated []string
// flag appends; its first use replaces the value from the lower layers.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"
)

// EnvPrefix is the prefix of every environment variable Load consults.
const EnvPrefix = "AGORA_"

// Config is the configuration of an Agora process. The zero value is not
// useful; start from Default or use Load. A Config is a plain value: it is
// safe to copy and holds no references to its sources.
type Config struct {
	// Home is the directory that holds keys, chain data and local state.
	// After Load it never starts with "~".
	Home string `yaml:"home" help:"directory for keys, chain data and local state"`

	// Node is the RPC address of the node that every command talking to a
	// chain uses (tx, query, miner run, ...). Empty means "find it": the
	// localnet running under Home, else tcp://127.0.0.1:26657; the caller
	// does the finding, Load only parses.
	Node string `yaml:"node" help:"the node's RPC ADDRESS (tcp://host:port or http://host:port) for every command that talks to a chain (default: the localnet running under home, else tcp://127.0.0.1:26657)"`

	// Log configures the process logger.
	Log Log `yaml:"log"`

	// Miner configures `agora miner run`; its flags belong to that command.
	Miner Miner `yaml:"miner" flags:"scoped"`

	// Validator configures `agora validator run`.
	Validator Validator `yaml:"validator" flags:"scoped"`
}

// Validator configures the validator daemon (`agora validator run`).
type Validator struct {
	Node         string `yaml:"node" help:"RPC address of the Agora node the validator follows (default: the node setting, --node)"`
	Netuid       uint16 `yaml:"netuid" help:"the subnet the validator scores"`
	Wallet       string `yaml:"wallet" help:"the wallet holding the validator's hotkey"`
	Hotkey       string `yaml:"hotkey" help:"the name of the validator's hotkey in the wallet"`
	PasswordFile string `yaml:"password_file" help:"file whose first line is the hotkey's password (else env AGORA_PASSWORD, else a prompt)"`

	Listen string `yaml:"listen" help:"host:port for /metrics, /healthz, /readyz and /scores (empty: none)"`
	// PublicAddr is where others reach Listen, announced on chain.
	PublicAddr string `yaml:"public_addr" help:"IP:PORT where miners reach listen: announced on chain as the validator's axon, so that agora miner status finds its signed /scores; :PORT (or 0.0.0.0:PORT) detects the IP: listen's if it names one, else the address of the route to the node, else of the first interface that is up, else 127.0.0.1 with a warning (empty: not announced)"`
	State      string `yaml:"state" help:"the state file: scores, classifier, pending commit (default: <home>/validator/<netuid>-<hotkey>.json)"`

	VerifyModel     string `yaml:"verify_model" help:"the model the subnet pays for, as a llama2.c checkpoint (or a folder holding one) the validator replays exactly (named by its file name without extension); or, with verify_url, the model name the server serves"`
	VerifyTokenizer string `yaml:"verify_tokenizer" help:"the checkpoint's tokenizer.model (default: beside the checkpoint)"`
	VerifyName      string `yaml:"verify_name" help:"with a checkpoint: the model name miners declare (default: the checkpoint's file name without extension; miners name theirs with miner.model_name)"`
	VerifyURL       string `yaml:"verify_url" help:"base URL of an OpenAI-compatible model server (vLLM) serving verify_model, that returns prompt log-probabilities: answers are then checked statistically"`
	VerifyAPIKey    string `yaml:"verify_api_key" help:"API key of verify_url"`
	VerifyStopIDs   string `yaml:"verify_stop_ids" help:"with verify_url: the token ids at which the model ends a generation (its eos_token_id), comma-separated"`

	JudgeURL    string `yaml:"judge_url" help:"base URL of an OpenAI-compatible server whose instruct model is asked whether a sample of answers are useful; its verdicts train p(useful) (empty: no judge)"`
	JudgeModel  string `yaml:"judge_model" help:"the judge's model name on judge_url"`
	JudgeAPIKey string `yaml:"judge_api_key" help:"API key of judge_url"`
	JudgePct    int    `yaml:"judge_pct" help:"percent of the answers that pass every check put to the judge"`

	SampleSize      int           `yaml:"sample_size" help:"miners queried per step"`
	StepInterval    time.Duration `yaml:"step_interval" help:"time between steps"`
	QueryTimeout    time.Duration `yaml:"query_timeout" help:"deadline of one miner's answer"`
	MaxTokens       int           `yaml:"max_tokens" help:"completion length asked of miners"`
	ReferencePct    int           `yaml:"reference_pct" help:"percent of steps that send a reference task: a secret story of the validator's own model, continued greedily, compared with the validator's own continuation"`
	PreferencePct   int           `yaml:"preference_pct" help:"percent of steps that send pairs of completions (traps among them) to miners' human labelers"`
	Dataset         string        `yaml:"dataset" help:"folder of the labels accepted from good labelers, for agora labels export (default: <home>/validator/<netuid>-<hotkey>-dataset)"`
	DatasetEvery    int           `yaml:"dataset_every" help:"export the dataset and commit its Merkle root on chain every this many epochs once it has grown (0: never)"`
	WeightsInterval int64         `yaml:"weights_interval" help:"blocks between weight sets (at least the subnet's weights_rate_limit; 0: that limit)"`
	// AllowPrivateAxons is for local networks: by default a validator
	// refuses axons on loopback, private and link-local addresses.
	AllowPrivateAxons bool `yaml:"allow_private_axons" help:"query miners whose axon is on a loopback, private or link-local address (a local or private network); off, a miner cannot aim the validator at hosts on its network"`
	// AxonNetworks are the private networks whose axons are queried
	// without AllowPrivateAxons: only these, not every private range.
	AxonNetworks string `yaml:"axon_networks" help:"CIDR prefixes, comma-separated, such as 10.77.0.0/16,192.168.1.0/24: query miners whose axon is in one of them though it is private (or loopback, link-local) - the miners' private network and nothing else of it; public axons are always queried"`
}

// AxonPrefixes parses AxonNetworks, a comma-separated list (spaces and
// empty items ignored). An item that is not a CIDR prefix, or that has
// bits set beyond its length (10.1.2.3/8), is an error naming it.
func (v Validator) AxonPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range splitList(v.AxonNetworks) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("validator.axon_networks: %q is not a CIDR prefix (an address, a slash and a length, such as 10.77.0.0/16 or fd00::/8)", s)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("validator.axon_networks: %q has address bits set beyond its length %d: write the network, %s", s, p.Bits(), p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// Miner configures the miner daemon (`agora miner run`).
type Miner struct {
	Node         string `yaml:"node" help:"RPC address of the Agora node the miner follows (default: the node setting, --node)"`
	Netuid       uint16 `yaml:"netuid" help:"the subnet the miner serves"`
	Wallet       string `yaml:"wallet" help:"the wallet holding the miner's hotkey"`
	Hotkey       string `yaml:"hotkey" help:"the name of the miner's hotkey in the wallet"`
	PasswordFile string `yaml:"password_file" help:"file whose first line is the hotkey's password (else env AGORA_PASSWORD, else a prompt)"`

	Listen string `yaml:"listen" help:"host:port the axon listens on"`
	// ExternalIP and ExternalPort are what the miner publishes on chain;
	// empty and 0 take the listen address's, an unspecified listen IP the
	// detected one.
	ExternalIP   string `yaml:"external_ip" help:"IP published on chain for validators to reach (default: the listen IP; when listening on 0.0.0.0 or ::, the address of the route to the node, else of the first interface that is up, else 127.0.0.1 with a warning)"`
	ExternalPort uint16 `yaml:"external_port" help:"port published on chain (default: the listen port)"`

	Model     string `yaml:"model" help:"built-in engine: a llama2.c checkpoint file, or a folder holding one *.bin and its tokenizer"`
	ModelName string `yaml:"model_name" help:"built-in engine: the model name its answers declare, which validators must pay for (default: the checkpoint's file name without extension)"`
	Tokenizer string `yaml:"tokenizer" help:"built-in engine: its SentencePiece tokenizer.model (default: tokenizer.model or tok*.model beside the checkpoint)"`

	BackendURL    string        `yaml:"backend_url" help:"an OpenAI-compatible server (vLLM, Ollama, llama.cpp), such as http://127.0.0.1:8000/v1; used instead of the built-in engine"`
	BackendModel  string        `yaml:"backend_model" help:"the model name the backend serves"`
	BackendAPIKey string        `yaml:"backend_api_key" help:"bearer token for the backend, if it wants one"`
	BackendIdle   time.Duration `yaml:"backend_idle_timeout" help:"longest wait for the backend's next streamed chunk"`

	MinStake       uint64        `yaml:"min_stake" help:"callers without a validator permit need at least this stake, in base units (0: a permit is required)"`
	MaxConcurrent  int           `yaml:"max_concurrent" help:"requests run on the backend at once (0: one per CPU for the built-in engine, 64 for a server)"`
	MaxQueue       int           `yaml:"max_queue" help:"requests waiting for the backend at most; when full, the lowest-staked caller is refused"`
	QueueTimeout   time.Duration `yaml:"queue_timeout" help:"longest a request waits for the backend before a 503"`
	RequestTimeout time.Duration `yaml:"request_timeout" help:"longest a request may run on the backend before a 504"`
	RateLimit      int           `yaml:"rate_limit" help:"requests per second each caller may make (0: unlimited)"`
	RateBurst      int           `yaml:"rate_burst" help:"requests a caller may make at once above its rate"`
	MaxBody        int           `yaml:"max_body" help:"largest request body accepted, in bytes"`

	Labels bool   `yaml:"labels" help:"serve human preference labels: the labelling page at /label/ and the validators' preference tasks"`
	Data   string `yaml:"data" help:"the miner's data folder: labels, tasks, labelers' tokens (default: <home>/miner/<netuid>-<hotkey>)"`
	// LabelURL is the labelling page's public URL when labelers reach it
	// by another name than the axon's address; its origin may open the
	// page's websocket.
	LabelURL string `yaml:"label_url" help:"public URL of the labelling page if labelers reach it by another name than the axon's address (a domain, a TLS proxy), such as https://label.example.com/label/; pages from other origins than it, the axon's and the listen address's cannot open the labelling websocket"`
}

// Log configures the process logger.
type Log struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level string `yaml:"level" oneof:"debug,info,warn,error" help:"minimum log level"`

	// Format is the encoding of log lines: console (human readable) or json.
	Format string `yaml:"format" oneof:"console,json" help:"log line encoding"`
}

// Default returns the built-in defaults, the lowest layer of Load. Home is
// "~/.agora", expanded by Load against Sources.UserHome.
func Default() Config {
	return Config{
		Home: "~/.agora",
		Log: Log{
			Level:  "info",
			Format: "console",
		},
		Miner: Miner{
			Netuid:         1,
			Hotkey:         "default",
			Listen:         "127.0.0.1:8091",
			BackendIdle:    30 * time.Second,
			MaxQueue:       256,
			QueueTimeout:   10 * time.Second,
			RequestTimeout: 60 * time.Second,
			RateLimit:      20,
			RateBurst:      40,
			MaxBody:        1 << 20,
			Labels:         true,
		},
		Validator: Validator{
			Netuid:        1,
			Hotkey:        "default",
			Listen:        "127.0.0.1:9091",
			SampleSize:    8,
			StepInterval:  5 * time.Second,
			QueryTimeout:  10 * time.Second,
			MaxTokens:     64,
			ReferencePct:  20,
			PreferencePct: 15,
			JudgePct:      5,
			DatasetEvery:  10,
		},
	}
}

// Sources are the inputs of Load. Every field is optional; a zero Sources
// yields the defaults (with Home unexpanded only if UserHome is empty, which
// is an error).
type Sources struct {
	// File is the content of a YAML configuration file; nil or empty means
	// no file.
	File []byte
	// FileName names File in error messages, usually its path.
	FileName string
	// LookupEnv looks up an environment variable, like os.LookupEnv; nil
	// means an empty environment.
	LookupEnv func(key string) (string, bool)
	// Flags are the configuration flags of the command line, after parsing;
	// only flags that were explicitly set override the lower layers. Nil
	// means no flags.
	Flags *Flags
	// UserHome is the directory a leading "~" in Home expands to, usually
	// os.UserHomeDir(). If it is empty and Home starts with "~", Load fails.
	UserHome string
}

// Load builds a Config from defaults, then src.File, then src.LookupEnv, then
// the flags in src.Flags that were set, expands "~" in Home, and validates
// the result. Errors start with "config: " and name the offending key with
// its source: the file and line, the environment variable, or the flag.
// Load does no I/O and is safe for concurrent use if src.LookupEnv is.
func Load(src Sources) (*Config, error) {
	cfg, _, err := LoadOrigins(src)
	return cfg, err
}

// LoadOrigins is Load that also reports where each setting that is not
// the default came from, by dotted key: "flag --node", "env AGORA_NODE" or
// "FILE:LINE" of the YAML file. A key missing from the map has its default.
// Callers use it to say, in an error, where a value they act on came from.
func LoadOrigins(src Sources) (*Config, map[string]string, error) {
	cfg := Default()
	fields, origin, err := layer(reflect.ValueOf(&cfg).Elem(), src)
	if err != nil {
		return nil, nil, err
	}

	if home, ok := expandHome(cfg.Home, src.UserHome); ok {
		cfg.Home = home
	} else {
		return nil, nil, fmt.Errorf("config: home %q: cannot expand \"~\": no user home directory known%s", cfg.Home, from(origin, "home"))
	}

	var errs []error
	for _, fe := range cfg.check(fields) {
		errs = append(errs, fmt.Errorf("config: %s%s", fe.msg, from(origin, fe.key)))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return &cfg, origin, nil
}

// Validate reports every setting of c that is out of its allowed range, or
// nil. Errors read like `config: log.level "loud" is not one of debug, info,
// warn, error`. Load already calls it; it is for Configs built in code.
func (c *Config) Validate() error {
	fields, err := schema(reflect.TypeFor[Config]())
	if err != nil {
		return err
	}
	var errs []error
	for _, fe := range c.check(fields) {
		errs = append(errs, errors.New("config: "+fe.msg))
	}
	return errors.Join(errs...)
}

// layer applies the file, environment and flag layers of src onto root, a
// settable struct holding the defaults, and reports where each key's value
// came from. It is Load without the Config-specific steps.
func layer(root reflect.Value, src Sources) ([]field, map[string]string, error) {
	fields, err := schema(root.Type())
	if err != nil {
		return nil, nil, err
	}
	origin := make(map[string]string) // key -> where its value came from
	if len(src.File) > 0 {
		name := src.FileName
		if name == "" {
			name = "config file"
		}
		if err := applyYAML(root, src.File, name, origin); err != nil {
			return nil, nil, err
		}
	}
	if src.LookupEnv != nil {
		if err := applyEnv(root, fields, src.LookupEnv, origin); err != nil {
			return nil, nil, err
		}
	}
	if src.Flags != nil {
		if src.Flags.typ != root.Type() {
			return nil, nil, fmt.Errorf("config: internal: flags of %s applied to %s", src.Flags.typ, root.Type())
		}
		src.Flags.apply(root, origin)
	}
	return fields, origin, nil
}

// fieldError is a validation failure of one key.
type fieldError struct {
	key string
	msg string
}

// check runs the oneof checks of every field, then validate.
func (c *Config) check(fields []field) []fieldError {
	root := reflect.ValueOf(c).Elem()
	var out []fieldError
	for _, f := range fields {
		if len(f.oneof) == 0 {
			continue
		}
		if s := root.FieldByIndex(f.index).String(); !slices.Contains(f.oneof, s) {
			out = append(out, fieldError{f.key, fmt.Sprintf("%s %q is not one of %s", f.key, s, strings.Join(f.oneof, ", "))})
		}
	}
	return append(out, c.validate()...)
}

// validate holds the checks that a oneof tag cannot express. Add new ones
// here, keyed by the dotted key they concern.
func (c *Config) validate() []fieldError {
	var out []fieldError
	if strings.TrimSpace(c.Home) == "" {
		out = append(out, fieldError{"home", "home must not be empty"})
	}
	m := &c.Miner
	for _, v := range []struct {
		key string
		n   int64
	}{
		{"miner.max_concurrent", int64(m.MaxConcurrent)}, {"miner.max_queue", int64(m.MaxQueue)},
		{"miner.rate_limit", int64(m.RateLimit)}, {"miner.rate_burst", int64(m.RateBurst)},
		{"miner.queue_timeout", int64(m.QueueTimeout)}, {"miner.request_timeout", int64(m.RequestTimeout)},
		{"miner.backend_idle_timeout", int64(m.BackendIdle)},
	} {
		if v.n < 0 {
			out = append(out, fieldError{v.key, v.key + " must not be negative"})
		}
	}
	if m.MaxBody < 1024 {
		out = append(out, fieldError{"miner.max_body", fmt.Sprintf("miner.max_body %d is out of range: want at least 1024 (bytes)", m.MaxBody)})
	}
	vc := &c.Validator
	// Each check says the range it wants, with the value given.
	atLeast := func(key string, v, lo int64) {
		if v < lo {
			out = append(out, fieldError{key, fmt.Sprintf("%s %d is out of range: want at least %d", key, v, lo)})
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			out = append(out, fieldError{key, fmt.Sprintf("%s %s is out of range: want a positive duration, such as 5s", key, d)})
		}
	}
	// The three percentages share 100: each may take what those before it
	// leave.
	percent := func(key string, v, before int, others string) {
		if hi := 100 - min(max(before, 0), 100); v < 0 || v > hi {
			msg := fmt.Sprintf("%s %d is out of range: want 0 to %d", key, v, hi)
			if others != "" {
				msg += fmt.Sprintf(" (%s and it add up to at most 100)", others)
			}
			out = append(out, fieldError{key, msg})
		}
	}
	atLeast("validator.sample_size", int64(vc.SampleSize), 1)
	positive("validator.step_interval", vc.StepInterval)
	positive("validator.query_timeout", vc.QueryTimeout)
	atLeast("validator.max_tokens", int64(vc.MaxTokens), 1)
	percent("validator.reference_pct", vc.ReferencePct, 0, "")
	percent("validator.preference_pct", vc.PreferencePct, vc.ReferencePct, "validator.reference_pct")
	percent("validator.judge_pct", vc.JudgePct, 0, "")
	switch {
	case vc.JudgeURL != "" && vc.JudgeModel == "":
		out = append(out, fieldError{"validator.judge_url", "validator.judge_url needs validator.judge_model: the name of the instruct model that server serves (such as meta-llama/Llama-3.1-8B-Instruct)"})
	case vc.JudgeURL == "" && vc.JudgeModel != "":
		out = append(out, fieldError{"validator.judge_model", "validator.judge_model needs validator.judge_url: the base URL of the OpenAI-compatible server that serves it (such as http://127.0.0.1:8000/v1)"})
	}
	if _, err := vc.AxonPrefixes(); err != nil {
		out = append(out, fieldError{"validator.axon_networks", err.Error()})
	}
	atLeast("validator.weights_interval", vc.WeightsInterval, 0)
	atLeast("validator.dataset_every", int64(vc.DatasetEvery), 0)
	if m.RateLimit > 0 && m.RateBurst < 1 {
		out = append(out, fieldError{"miner.rate_burst", "miner.rate_burst must be at least 1 when miner.rate_limit is set"})
	}
	return out
}

// from describes where key's value came from, for error messages.
func from(origin map[string]string, key string) string {
	if o, ok := origin[key]; ok {
		return " (set by " + o + ")"
	}
	return ""
}

// expandHome replaces a leading "~" or "~/" in p with userHome. It reports
// false if p needs expanding and userHome is empty. Other forms such as
// "~user" are left alone.
func expandHome(p, userHome string) (string, bool) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, true
	}
	if userHome == "" {
		return "", false
	}
	if p == "~" {
		return userHome, true
	}
	return strings.TrimSuffix(userHome, "/") + p[1:], true
}
