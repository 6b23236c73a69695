package llm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModelName is the name a llama2.c checkpoint is served under: its file
// name without the extension.
func ModelName(checkpoint string) string {
	base := filepath.Base(checkpoint)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// FindCheckpoint resolves a llama2.c model given as a checkpoint file or
// as a folder holding exactly one checkpoint (*.bin), and returns the
// checkpoint's path. A path that does not exist is os.Stat's
// *fs.PathError; a folder with no checkpoint or several is an error that
// lists what it holds and says what to give instead. The checkpoint is
// not read.
func FindCheckpoint(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return path, err
	}
	bins := filesIn(path, "*.bin")
	switch len(bins) {
	case 0:
		return "", fmt.Errorf("folder %s holds no llama2.c checkpoint (*.bin); it holds %s: give the checkpoint file itself", path, listFiles(path))
	case 1:
		return filepath.Join(path, bins[0]), nil
	default:
		return "", fmt.Errorf("folder %s holds %d llama2.c checkpoints (%s): give one of them, such as %s", path, len(bins), strings.Join(bins, ", "), filepath.Join(path, bins[0]))
	}
}

// FindTokenizer finds a checkpoint's SentencePiece tokenizer beside it:
// tokenizer.model, else the folder's one *.model, else its one tok*.model
// (as llama2.c names its custom tokenizers). None, or several, is an error
// that lists what the folder holds.
func FindTokenizer(checkpoint string) (string, error) {
	dir := filepath.Dir(checkpoint)
	if p := filepath.Join(dir, "tokenizer.model"); isFile(p) {
		return p, nil
	}
	models := filesIn(dir, "*.model")
	if len(models) > 1 {
		if toks := filesIn(dir, "tok*.model"); len(toks) == 1 {
			models = toks
		}
	}
	switch len(models) {
	case 0:
		return "", fmt.Errorf("no tokenizer beside %s (looked for tokenizer.model and one *.model; the folder holds %s)", checkpoint, listFiles(dir))
	case 1:
		return filepath.Join(dir, models[0]), nil
	default:
		return "", fmt.Errorf("%d tokenizers beside %s (%s), and none is tokenizer.model", len(models), checkpoint, strings.Join(models, ", "))
	}
}

// filesIn returns the names of the regular files (or links to them) in
// dir that match pattern, sorted.
func filesIn(dir, pattern string) []string {
	entries, _ := os.ReadDir(dir) // sorted by name; an unreadable folder lists nothing
	var names []string
	for _, e := range entries {
		if ok, _ := filepath.Match(pattern, e.Name()); ok && isFile(filepath.Join(dir, e.Name())) {
			names = append(names, e.Name())
		}
	}
	return names
}

// listFiles describes dir's files for an error: their names, or "no
// files".
func listFiles(dir string) string {
	names := filesIn(dir, "*")
	switch {
	case len(names) == 0:
		return "no files"
	case len(names) > 10:
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
