package node

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"github.com/seed0ffb8d46/agora/chain"
)

// Defaults of AppConfig.
const (
	// DefaultSnapshotInterval is how many blocks apart a node takes state
	// sync snapshots: about every 17 minutes at one block a second.
	DefaultSnapshotInterval = 1000
	// DefaultSnapshotKeepRecent is how many snapshots a node keeps.
	DefaultSnapshotKeepRecent = chain.DefaultSnapshotKeep
	// maxSnapshotKeep bounds snapshot_keep_recent: each one is a copy of
	// the whole state on disk.
	maxSnapshotKeep = 100
)

// AppConfig is the app's own settings in a home, config/app.toml, next to
// CometBFT's config.toml. A home without the file (written before it
// existed) runs with DefaultAppConfig.
type AppConfig struct {
	// SnapshotInterval is how many blocks apart the node takes a state
	// sync snapshot (into data/snapshots) for joining nodes; 0 takes
	// none.
	SnapshotInterval int64 `toml:"snapshot_interval"`
	// SnapshotKeepRecent is how many of the latest snapshots are kept, at
	// least 1.
	SnapshotKeepRecent int `toml:"snapshot_keep_recent"`
}

// DefaultAppConfig is a snapshot every DefaultSnapshotInterval blocks,
// the DefaultSnapshotKeepRecent latest kept.
func DefaultAppConfig() AppConfig {
	return AppConfig{SnapshotInterval: DefaultSnapshotInterval, SnapshotKeepRecent: DefaultSnapshotKeepRecent}
}

// Validate says what is wrong with c, if anything.
func (c AppConfig) Validate() error {
	if c.SnapshotInterval < 0 {
		return fmt.Errorf("snapshot_interval %d: want 0 (no snapshots) or a number of blocks", c.SnapshotInterval)
	}
	if c.SnapshotKeepRecent < 1 || c.SnapshotKeepRecent > maxSnapshotKeep {
		return fmt.Errorf("snapshot_keep_recent %d: want 1 to %d", c.SnapshotKeepRecent, maxSnapshotKeep)
	}
	return nil
}

// AppConfigFile is the path of home's app.toml.
func AppConfigFile(home string) string { return filepath.Join(home, "config", "app.toml") }

// SnapshotDir is where the node at home keeps its snapshots.
func SnapshotDir(home string) string { return filepath.Join(home, "data", "snapshots") }

// LoadAppConfig reads home's config/app.toml over DefaultAppConfig. A
// missing file is the defaults; an unknown key or a bad value is an
// error naming the file.
func LoadAppConfig(home string) (AppConfig, error) {
	c := DefaultAppConfig()
	file := AppConfigFile(home)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&c); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return c, fmt.Errorf("%s: unknown key: %s (known: snapshot_interval, snapshot_keep_recent)", file, strict.String())
		}
		return c, fmt.Errorf("%s: %w", file, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// writeAppConfig writes c as home's config/app.toml.
func writeAppConfig(home string, c AppConfig) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("app config: %w", err)
	}
	body := fmt.Sprintf(`# Agora's app settings; CometBFT's are in config.toml.

# Take a state sync snapshot every this many blocks (0: none), into
# data/snapshots, for nodes that join with "agora node join --state-sync".
snapshot_interval = %d

# Keep this many of the latest snapshots (at least 1).
snapshot_keep_recent = %d
`, c.SnapshotInterval, c.SnapshotKeepRecent)
	if err := os.WriteFile(AppConfigFile(home), []byte(body), 0o600); err != nil {
		return fmt.Errorf("write app config: %w", err)
	}
	return nil
}

// orDefaultApp is *c, or the defaults if c is nil.
func orDefaultApp(c *AppConfig) AppConfig {
	if c == nil {
		return DefaultAppConfig()
	}
	return *c
}
