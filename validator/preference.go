package validator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/rlhf"
	"github.com/seed0ffb8d46/agora/scoring"
)

// KindPreference is the score of the human preference labels a miner's
// labelers give the validator's tasks.
const KindPreference = "preference"

// Limits of the preference side.
const (
	maxRecent       = 64   // good answers kept to build tasks from
	maxObservations = 4096 // labels kept for label-quality statistics
	maxOutstanding  = 1024 // tasks awaiting labels
	prefTasksPerJob = 4    // tasks sent to a miner per preference step
	prefTaskTTL     = 10 * time.Minute
)

// completion is a good answer a miner gave to a story prompt: material for
// preference tasks.
type completion struct {
	Prompt, Text string
	// Model names what wrote it: the declared model and the miner's uid,
	// since miners on one model still differ (and the leaderboard ranks
	// them).
	Model string
}

// prefTask is a preference task the validator sent, with what only it
// knows (whether it is a trap, and its answer).
type prefTask struct {
	Task       rlhf.Task `json:"task"`
	Trap       bool      `json:"trap"`
	TrapAnswer string    `json:"trap_answer,omitempty"`
	// Miners are the hotkeys (hex) it was sent to.
	Miners []string `json:"miners"`
}

// remember keeps a good answer for preference tasks.
func (v *Validator) remember(c completion) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.recent = append(v.recent, c)
	if len(v.recent) > maxRecent {
		v.recent = v.recent[len(v.recent)-maxRecent:]
	}
}

// degrade spoils a completion so that the other one is clearly better:
// its words shuffled and cut to half. A trap with a known answer.
func degrade(text string, r *rand.Rand) string {
	w := strings.Fields(text)
	r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
	return strings.Join(w[:max(1, len(w)/2)], " ")
}

// newPrefTasks makes n tasks from recent good answers: traps (one side
// degraded) and, when two miners answered one prompt, real comparisons.
func (v *Validator) newPrefTasks(n int, now time.Time) []prefTask {
	v.mu.Lock()
	recent := append([]completion(nil), v.recent...)
	v.mu.Unlock()
	if len(recent) == 0 {
		return nil
	}
	prefix := api.TaskPrefix(v.self)
	var out []prefTask
	for range n {
		c := recent[v.rng.IntN(len(recent))]
		// A random id: nothing in it tells a trap from a comparison.
		id := fmt.Sprintf("%s%016x%016x", prefix, v.rng.Uint64(), v.rng.Uint64())
		t := rlhf.Task{ID: id, Prompt: c.Prompt, Validator: v.self, Deadline: now.Add(prefTaskTTL), CreatedAt: now}
		var other *completion
		for j := range recent {
			if recent[j].Prompt == c.Prompt && recent[j].Text != c.Text {
				other = &recent[j]
				break
			}
		}
		if other != nil && v.rng.IntN(2) == 1 {
			t.CompletionA, t.ModelA, t.CompletionB, t.ModelB = c.Text, c.Model, other.Text, other.Model
			out = append(out, prefTask{Task: t})
			continue
		}
		bad := degrade(c.Text, v.rng)
		if v.rng.IntN(2) == 0 {
			t.CompletionA, t.CompletionB, t.ModelA = c.Text, bad, c.Model
			out = append(out, prefTask{Task: t, Trap: true, TrapAnswer: "a"})
		} else {
			t.CompletionA, t.CompletionB, t.ModelB = bad, c.Text, c.Model
			out = append(out, prefTask{Task: t, Trap: true, TrapAnswer: "b"})
		}
	}
	return out
}

// blind is a task in the form miners receive it: without model names (see
// sendPreference); the wire form has no trap fields either.
func blind(t rlhf.Task) api.PreferenceTask {
	return api.PreferenceTask{ID: t.ID, Prompt: t.Prompt, CompletionA: t.CompletionA, CompletionB: t.CompletionB,
		Validator: t.Validator, Deadline: t.Deadline, CreatedAt: t.CreatedAt}
}

// labelOf is a label a miner sent, in rlhf's terms (checked with its
// Validate before use).
func labelOf(l api.PreferenceLabel) rlhf.Label {
	return rlhf.Label{TaskID: l.TaskID, LabelerID: l.LabelerID, Choice: rlhf.Choice(l.Choice), Rationale: l.Rationale,
		TimeOnTaskMs: l.TimeOnTaskMs, ShownALeft: l.ShownALeft, Miner: l.Miner, ReceivedAt: l.ReceivedAt}
}

// signedJSON posts body to a miner's path, signed, and decodes its signed
// answer into out.
func (v *Validator) signedJSON(ctx context.Context, t target, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := v.signer.NewRequest(ctx, http.MethodPost, t.url+path, raw, t.hotkey)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if _, err := protocol.VerifyResponse(resp, got, t.hotkey); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, bytes.TrimSpace(got))
	}
	return json.Unmarshal(got, out)
}

// sendPreference sends each miner in sample the same new tasks, so that
// labelers of different miners label the same items.
func (v *Validator) sendPreference(ctx context.Context, sample []target) {
	tasks := v.newPrefTasks(prefTasksPerJob, time.Now())
	if len(tasks) == 0 {
		return
	}
	// Miners and their labelers see the tasks blind: no model names,
	// which would tell a trap (one side written by no model) from a real
	// comparison. The validator keeps them for its dataset.
	body := api.PreferenceTasks{}
	for _, t := range tasks {
		body.Tasks = append(body.Tasks, blind(t.Task))
	}
	for _, t := range sample {
		qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
		var ack map[string]int
		err := v.signedJSON(qctx, t, api.PathPreferenceTasks, body, &ack)
		cancel()
		if err != nil {
			v.log.Debug("preference tasks", zap.Uint16("uid", t.uid), zap.Error(err))
			continue
		}
		for i := range tasks {
			tasks[i].Miners = append(tasks[i].Miners, t.hotkey.Hex())
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, t := range tasks {
		if len(t.Miners) > 0 {
			v.st.Prefs = append(v.st.Prefs, t)
		}
	}
	if n := len(v.st.Prefs); n > maxOutstanding {
		v.st.Prefs = v.st.Prefs[n-maxOutstanding:]
	}
}

// collectPreference asks each miner in sample for the labels of the tasks
// it was sent, scores the labels' quality, updates the miners' preference
// scores and keeps the accepted labels for the dataset.
func (v *Validator) collectPreference(ctx context.Context, sample []target) {
	now := time.Now()
	v.mu.Lock()
	byMiner := map[string][]string{}
	tasks := map[string]prefTask{}
	keep := v.st.Prefs[:0]
	for _, p := range v.st.Prefs {
		if now.After(p.Task.Deadline) {
			continue
		}
		keep = append(keep, p)
		tasks[p.Task.ID] = p
		for _, m := range p.Miners {
			byMiner[m] = append(byMiner[m], p.Task.ID)
		}
	}
	v.st.Prefs = keep
	v.mu.Unlock()

	got := map[keys.PublicKey][]rlhf.Label{}
	for _, t := range sample {
		ids := byMiner[t.hotkey.Hex()]
		if len(ids) == 0 {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
		var out api.PreferenceLabels
		err := v.signedJSON(qctx, t, api.PathPreferenceLabels, api.PreferenceLabelsRequest{TaskIDs: ids}, &out)
		cancel()
		if err != nil {
			v.log.Debug("preference labels", zap.Uint16("uid", t.uid), zap.Error(err))
			continue
		}
		labels := make([]rlhf.Label, len(out.Labels))
		for i, l := range out.Labels {
			labels[i] = labelOf(l)
		}
		got[t.hotkey] = labels
	}
	if len(got) == 0 {
		return
	}
	v.mu.Lock()
	seen := map[string]bool{}
	for _, o := range v.st.LabelObs {
		seen[o.Miner+"\x00"+o.Labeler+"\x00"+o.Item] = true
	}
	var fresh []accepted
	traps := map[keys.PublicKey][]api.TrapResult{}
	for hk, labels := range got {
		for _, l := range labels {
			p, ok := tasks[l.TaskID]
			key := hk.Hex() + "\x00" + hk.Hex() + "/" + l.LabelerID + "\x00" + l.TaskID
			if !ok || seen[key] || l.Validate() != nil {
				continue
			}
			seen[key] = true
			shown := "b"
			if l.ShownALeft {
				shown = "a"
			}
			v.st.LabelObs = append(v.st.LabelObs, scoring.LabelObs{
				Item: l.TaskID, Labeler: hk.Hex() + "/" + l.LabelerID, Miner: hk.Hex(), Choice: string(l.Choice), ShownLeft: shown,
				TimeOnTaskMs: l.TimeOnTaskMs, TextLen: len(p.Task.Prompt) + len(p.Task.CompletionA) + len(p.Task.CompletionB),
				Trap: p.Trap, TrapAnswer: p.TrapAnswer,
			})
			if !p.Trap {
				fresh = append(fresh, accepted{miner: hk.Hex(), label: l})
			} else {
				traps[hk] = append(traps[hk], api.TrapResult{TaskID: l.TaskID, LabelerID: l.LabelerID, Correct: string(l.Choice) == p.TrapAnswer})
			}
		}
	}
	if n := len(v.st.LabelObs); n > maxObservations {
		v.st.LabelObs = v.st.LabelObs[n-maxObservations:]
	}
	obs := append([]scoring.LabelObs(nil), v.st.LabelObs...)
	v.mu.Unlock()

	report, err := scoring.AssessLabels(obs, scoring.DefaultLabelOptions())
	if err != nil {
		v.log.Warn("label quality", zap.Error(err))
		return
	}
	quality := map[string]float64{}
	for _, q := range report.Labelers {
		quality[q.Labeler] = q.Score
	}
	scores := map[string]float64{}
	for _, ms := range report.Miners {
		scores[ms.Miner] = ms.Score
	}
	for _, t := range sample {
		if _, asked := got[t.hotkey]; !asked {
			continue
		}
		score := scores[t.hotkey.Hex()]
		v.metrics.scores.WithLabelValues(KindPreference, "scored").Inc()
		v.mu.Lock()
		_ = v.st.Scores.Update(KindPreference, int(t.uid), score)
		v.mu.Unlock()
	}
	v.acceptLabels(fresh, tasks, quality)
	// Tell the miners how their labelers did on the traps, for the
	// labelers' own accuracy on their pages.
	for _, t := range sample {
		if rs := traps[t.hotkey]; len(rs) > 0 {
			qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
			var ack map[string]int
			if err := v.signedJSON(qctx, t, api.PathPreferenceResults, api.PreferenceResults{Results: rs}, &ack); err != nil {
				v.log.Debug("preference results", zap.Uint16("uid", t.uid), zap.Error(err))
			}
			cancel()
		}
	}
}

// preferred is the chosen and the rejected completion of task by choice;
// false for a tie or "both bad", which say nothing of which is better.
func preferred(task rlhf.Task, choice rlhf.Choice) (chosen, rejected string, ok bool) {
	switch choice {
	case rlhf.ChoiceA:
		return task.CompletionA, task.CompletionB, true
	case rlhf.ChoiceB:
		return task.CompletionB, task.CompletionA, true
	}
	return "", "", false
}

// minLabelerQuality is the labeler score below which a label does not
// enter the dataset.
const minLabelerQuality = 0.25

// accepted is a label on a real comparison and the miner (hex) it came
// from.
type accepted struct {
	miner string
	label rlhf.Label
}

// acceptLabels adds to the validator's dataset the labels of labelers
// good enough to trust. A labeler is named by its miner and its name on
// that miner, since names are the miners' own.
//
// The same labels teach p(useful): of a real comparison that a labeler
// good enough to trust decided, the chosen completion is useful and the
// other is not (a usefulness outcome, unlike passing verification).
func (v *Validator) acceptLabels(labels []accepted, tasks map[string]prefTask, quality map[string]float64) {
	for _, a := range labels {
		labeler := a.miner + "/" + a.label.LabelerID
		if quality[labeler] < minLabelerQuality {
			continue
		}
		task := tasks[a.label.TaskID].Task
		if chosen, rejected, ok := preferred(task, a.label.Choice); ok {
			for i, text := range []string{chosen, rejected} {
				err := v.useful.Train(scoring.UsefulInput{Prompt: task.Prompt, Response: text}, i == 0, a.miner, scoring.EvidencePreference)
				if err != nil && !errors.Is(err, scoring.ErrMinerCapped) {
					v.log.Debug("train p(useful) on a preference", zap.Error(err))
				}
			}
		}
		if v.dataset == nil {
			continue
		}
		l := a.label
		l.LabelerID = a.miner[:16] + "/" + l.LabelerID
		if err := v.dataset.add(tasks[l.TaskID].Task, l); err != nil {
			v.log.Warn("dataset", zap.Error(err))
			return
		}
	}
}
