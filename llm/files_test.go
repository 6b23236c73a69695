package llm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// folder makes a temporary folder holding files (empty ones) and returns
// its path.
func folder(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindCheckpointAndTokenizer(t *testing.T) {
	// The demo model as a folder of links to the shared files.
	demo := t.TempDir()
	for _, f := range []string{"babyllama105.bin", "tok105.model", "README.md"} {
		abs, err := filepath.Abs(filepath.Join(modelDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(demo, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name      string
		path      string // "" for the folder
		files     []string
		wantCkpt  string // the checkpoint's name in the folder, or an error's text
		wantTok   string // the tokenizer's name in the folder, or an error's text
		ckptFails bool
		tokFails  bool
	}{
		{name: "the demo folder", path: demo, wantCkpt: "babyllama105.bin", wantTok: "tok105.model"},
		{name: "a checkpoint file", files: []string{"m.bin", "tokenizer.model", "other.model"}, path: "m.bin", wantCkpt: "m.bin", wantTok: "tokenizer.model"},
		{name: "tokenizer.model first", files: []string{"m.bin", "tokenizer.model", "tok1.model"}, wantCkpt: "m.bin", wantTok: "tokenizer.model"},
		{name: "the one tok*.model of several", files: []string{"m.bin", "tok32.model", "sp.model"}, wantCkpt: "m.bin", wantTok: "tok32.model"},
		{name: "empty folder", ckptFails: true, wantCkpt: "holds no llama2.c checkpoint (*.bin); it holds no files: give the checkpoint file itself"},
		{name: "no checkpoint", files: []string{"README.md", "model.safetensors", "tok.model"}, ckptFails: true,
			wantCkpt: "holds no llama2.c checkpoint (*.bin); it holds README.md, model.safetensors, tok.model"},
		{name: "two checkpoints", files: []string{"a.bin", "b.bin", "tok.model"}, ckptFails: true,
			wantCkpt: "holds 2 llama2.c checkpoints (a.bin, b.bin): give one of them, such as "},
		{name: "no tokenizer", files: []string{"m.bin", "README.md"}, wantCkpt: "m.bin", tokFails: true,
			wantTok: "(looked for tokenizer.model and one *.model; the folder holds README.md, m.bin)"},
		{name: "two tokenizers", files: []string{"m.bin", "a.model", "b.model"}, wantCkpt: "m.bin", tokFails: true,
			wantTok: "2 tokenizers beside "},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := c.path
			if c.path == "" || !filepath.IsAbs(c.path) {
				dir = folder(t, c.files...)
			}
			path := dir
			if c.path != "" && !filepath.IsAbs(c.path) {
				path = filepath.Join(dir, c.path)
			}
			ckpt, err := FindCheckpoint(path)
			if c.ckptFails {
				if err == nil || !strings.Contains(err.Error(), c.wantCkpt) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("FindCheckpoint(%s) = %q, %v; want an error naming the folder and %q", path, ckpt, err, c.wantCkpt)
				}
				return
			}
			if err != nil || ckpt != filepath.Join(dir, c.wantCkpt) {
				t.Fatalf("FindCheckpoint(%s) = %q, %v; want %s", path, ckpt, err, c.wantCkpt)
			}
			tok, err := FindTokenizer(ckpt)
			if c.tokFails {
				if err == nil || !strings.Contains(err.Error(), c.wantTok) || !strings.Contains(err.Error(), ckpt) {
					t.Fatalf("FindTokenizer(%s) = %q, %v; want an error naming the checkpoint and %q", ckpt, tok, err, c.wantTok)
				}
				return
			}
			if err != nil || tok != filepath.Join(dir, c.wantTok) {
				t.Fatalf("FindTokenizer(%s) = %q, %v; want %s", ckpt, tok, err, c.wantTok)
			}
		})
	}
	if name := ModelName(filepath.Join(demo, "babyllama105.bin")); name != "babyllama105" {
		t.Errorf("ModelName = %q", name)
	}
	if _, err := FindCheckpoint(filepath.Join(demo, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing path: %v, want fs.ErrNotExist", err)
	}
}
