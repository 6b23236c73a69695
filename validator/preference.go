package validator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
	maxRecent       = 128  // good answers kept to build tasks from
	maxObservations = 4096 // labels kept for label-quality statistics
	maxOutstanding  = 1024 // tasks awaiting labels
	prefTasksPerJob = 4    // tasks sent to a miner per preference step
	prefTaskTTL     = 10 * time.Minute
	// trapShare is the share of preference tasks that are traps; the rest
	// are real comparisons.
	trapShare = 0.5
)

// completion is a good answer a miner gave to a story prompt: material for
// preference tasks.
type completion struct {
	Prompt, Text string
	// Model names what wrote it: the declared model and the miner's uid,
	// since miners on one model still differ (and the leaderboard ranks
	// them).
	Model string
	// MeanLogprob is the declared model's mean log-probability per token
	// of the answer, from its verification.
	MeanLogprob float64
}

// prefTask is a preference task the validator sent, with what only it
// knows (whether it is a trap, and its answer).
type prefTask struct {
	Task       rlhf.Task `json:"task"`
	Trap       bool      `json:"trap"`
	TrapAnswer string    `json:"trap_answer,omitempty"`
	// Miners are the hotkeys (hex) it was sent to; SentMs when, by the
	// validator's clock (Unix ms; 0 in a state from before it was kept).
	Miners []string `json:"miners"`
	SentMs []int64  `json:"sent_ms,omitempty"`
}

// sentAt is when the task went to miner (hex), 0 if unknown.
func (p prefTask) sentAt(miner string) int64 {
	for i, m := range p.Miners {
		if m == miner && i < len(p.SentMs) {
			return p.SentMs[i]
		}
	}
	return 0
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

// newPrefTasks makes up to n tasks from recent good answers, all alike in
// form: two verified answers of the declared model to one prompt, in
// random order. Half are traps, pairs the model itself rates far apart
// (scoring.PrefPair: the longer side a coin flip); the rest are real
// comparisons, pairs it rates close, whose answer is the crowd's.
func (v *Validator) newPrefTasks(n int, now time.Time) []prefTask {
	v.mu.Lock()
	byPrompt := map[string][]completion{}
	var prompts []string
	for _, c := range v.recent {
		if _, ok := byPrompt[c.Prompt]; !ok {
			prompts = append(prompts, c.Prompt)
		}
		byPrompt[c.Prompt] = append(byPrompt[c.Prompt], c)
	}
	v.mu.Unlock()
	if len(prompts) == 0 {
		return nil
	}
	prefix := api.TaskPrefix(v.self)
	pol := v.cfg.Policy
	var out []prefTask
	for range n {
		group := byPrompt[prompts[v.rng.IntN(len(prompts))]]
		sides := make([]scoring.PairSide, len(group))
		for i, c := range group {
			sides[i] = scoring.PairSide{Text: c.Text, MeanLogprob: c.MeanLogprob}
		}
		trap := v.rng.Float64() < trapShare
		a, b, ok := pol.PrefPair(sides, trap, v.rng.IntN(2) == 0, v.rng)
		if !ok {
			trap = !trap // take the other kind rather than nothing
			if a, b, ok = pol.PrefPair(sides, trap, v.rng.IntN(2) == 0, v.rng); !ok {
				continue
			}
		}
		// A random id: nothing in it tells a trap from a comparison.
		id := fmt.Sprintf("%s%016x%016x", prefix, v.rng.Uint64(), v.rng.Uint64())
		t := rlhf.Task{ID: id, Prompt: group[a].Prompt, Validator: v.self, Deadline: now.Add(prefTaskTTL), CreatedAt: now}
		p := prefTask{Task: t, Trap: trap}
		if trap && v.rng.IntN(2) == 0 {
			a, b = b, a // the better side second
			p.TrapAnswer = "b"
		} else if trap {
			p.TrapAnswer = "a"
		}
		p.Task.CompletionA, p.Task.ModelA, p.Task.CompletionB, p.Task.ModelB = group[a].Text, group[a].Model, group[b].Text, group[b].Model
		out = append(out, p)
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
	// which would tell which miners' answers a task sets side by side.
	// The validator keeps them for its dataset.
	body := api.PreferenceTasks{}
	for _, t := range tasks {
		body.Tasks = append(body.Tasks, blind(t.Task))
	}
	sent := make([]int64, len(sample)) // when each miner took the tasks; 0 if it did not
	v.fanOut(ctx, sample, func(i int, t target) {
		qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
		defer cancel()
		at := time.Now().UnixMilli()
		var ack map[string]int
		if err := v.signedJSON(qctx, t, api.PathPreferenceTasks, body, &ack); err != nil {
			v.log.Debug("preference tasks", zap.Uint16("uid", t.uid), zap.Error(err))
			return
		}
		sent[i] = at
	})
	for i, t := range sample {
		if sent[i] == 0 {
			continue
		}
		for j := range tasks {
			tasks[j].Miners = append(tasks[j].Miners, t.hotkey.Hex())
			tasks[j].SentMs = append(tasks[j].SentMs, sent[i])
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

// fanOut calls fn for each miner of sample, at most PreferenceParallel at
// once, and returns when all are done.
func (v *Validator) fanOut(ctx context.Context, sample []target, fn func(i int, t target)) {
	sem := make(chan struct{}, v.cfg.PreferenceParallel)
	var wg sync.WaitGroup
	for i, t := range sample {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i, t)
		})
	}
	wg.Wait()
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

	labels := make([][]rlhf.Label, len(sample))
	gotAt := make([]int64, len(sample))
	v.fanOut(ctx, sample, func(i int, t target) {
		ids := byMiner[t.hotkey.Hex()]
		if len(ids) == 0 {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
		defer cancel()
		var out api.PreferenceLabels
		if err := v.signedJSON(qctx, t, api.PathPreferenceLabels, api.PreferenceLabelsRequest{TaskIDs: ids}, &out); err != nil {
			v.log.Debug("preference labels", zap.Uint16("uid", t.uid), zap.Error(err))
			return
		}
		gotAt[i] = time.Now().UnixMilli()
		ls := make([]rlhf.Label, len(out.Labels))
		for j, l := range out.Labels {
			ls[j] = labelOf(l)
		}
		labels[i] = ls
	})
	asked := map[keys.PublicKey]bool{}
	for i, t := range sample {
		if gotAt[i] != 0 {
			asked[t.hotkey] = true
		}
	}
	if len(asked) == 0 {
		return
	}
	v.mu.Lock()
	seen := map[string]bool{}
	for _, o := range v.st.LabelObs {
		seen[o.Miner+"\x00"+o.Labeler+"\x00"+o.Item] = true
	}
	var fresh []accepted
	var timings []scoring.LabelTiming
	first := len(v.st.LabelObs)
	for i, t := range sample {
		hk := t.hotkey
		for _, l := range labels[i] {
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
			labeler := hk.Hex() + "/" + l.LabelerID
			var received int64
			if !l.ReceivedAt.IsZero() {
				received = l.ReceivedAt.UnixMilli()
			}
			// Time on task as the validator's own clock allows it
			// (scoring.ServerTimes), filled in below.
			timings = append(timings, scoring.LabelTiming{Labeler: labeler, SentMs: p.sentAt(hk.Hex()), GotMs: gotAt[i],
				ClaimedMs: l.TimeOnTaskMs, ReceivedMs: received})
			v.st.LabelObs = append(v.st.LabelObs, scoring.LabelObs{
				Item: l.TaskID, Labeler: labeler, Miner: hk.Hex(), Choice: string(l.Choice), ShownLeft: shown,
				Longer: longer(p.Task), TextLen: len(p.Task.Prompt) + len(p.Task.CompletionA) + len(p.Task.CompletionB),
				Trap: p.Trap, TrapAnswer: p.TrapAnswer,
			})
			if !p.Trap {
				fresh = append(fresh, accepted{miner: hk.Hex(), label: l})
			} else {
				// Told only once the task has expired: a verdict on a live
				// task would tell the miner's other labelers (and anyone
				// it shares the task with) which tasks are traps.
				rs := append(v.trapResults[hk.Hex()], dueResult{due: p.Task.Deadline,
					r: api.TrapResult{TaskID: l.TaskID, LabelerID: l.LabelerID, Correct: string(l.Choice) == p.TrapAnswer}})
				v.trapResults[hk.Hex()] = rs[max(0, len(rs)-maxOutstanding):]
			}
		}
	}
	for j, ms := range scoring.ServerTimes(timings, v.labelBusy) {

		v.st.LabelObs[first+j].TimeOnTaskMs = ms
	}
	if n := len(v.st.LabelObs); n > maxObservations {
		v.st.LabelObs = v.st.LabelObs[n-maxObservations:]
	}
	obs := append([]scoring.LabelObs(nil), v.st.LabelObs...)
	v.mu.Unlock()

	report, err := scoring.AssessLabels(obs, v.cfg.LabelOptions)
	if err != nil {
		v.log.Warn("label quality", zap.Error(err))
		return
	}
	quality := map[string]float64{}
	labelers := map[string][]api.LabelerScore{}
	for _, q := range report.Labelers {
		quality[q.Labeler] = q.Score
		name := strings.TrimPrefix(q.Labeler, q.Miner+"/")
		labelers[q.Miner] = append(labelers[q.Miner], api.LabelerScore{Labeler: name, Labels: q.Labels, Score: q.Score, Reasons: q.Reasons})
	}
	v.mu.Lock()
	v.labelers = labelers
	v.mu.Unlock()
	scores := map[string]float64{}
	for _, ms := range report.Miners {
		scores[ms.Miner] = ms.Score
	}
	for _, t := range sample {
		if !asked[t.hotkey] {
			continue
		}
		score := scores[t.hotkey.Hex()]
		v.metrics.scores.WithLabelValues(KindPreference, "scored").Inc()
		v.mu.Lock()
		_ = v.st.Scores.Update(KindPreference, int(t.uid), score)
		v.mu.Unlock()
	}
	v.acceptLabels(fresh, tasks, quality)
	v.sendTrapResults(ctx, sample, now)
}

// dueResult is a trap verdict to tell a miner once its task has expired.
type dueResult struct {
	due time.Time
	r   api.TrapResult
}

// sendTrapResults tells the miners in sample how their labelers did on
// traps whose tasks have expired, for the labelers' own accuracy on their
// pages. A verdict that cannot be delivered is dropped: it is shown to
// labelers, never paid on.
func (v *Validator) sendTrapResults(ctx context.Context, sample []target, now time.Time) {
	due := make([][]api.TrapResult, len(sample))
	v.mu.Lock()
	for i, t := range sample {
		pending := v.trapResults[t.hotkey.Hex()]
		keep := pending[:0]
		for _, d := range pending {
			if now.After(d.due) {
				due[i] = append(due[i], d.r)
			} else {
				keep = append(keep, d)
			}
		}
		v.trapResults[t.hotkey.Hex()] = keep
	}
	v.mu.Unlock()
	v.fanOut(ctx, sample, func(i int, t target) {
		if len(due[i]) == 0 {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, v.cfg.QueryTimeout)
		defer cancel()
		var ack map[string]int
		if err := v.signedJSON(qctx, t, api.PathPreferenceResults, api.PreferenceResults{Results: due[i]}, &ack); err != nil {
			v.log.Debug("preference results", zap.Uint16("uid", t.uid), zap.Error(err))
		}
	})
}

// longer is the completion of t ("a" or "b") longer in characters, "" if
// they are as long.
func longer(t rlhf.Task) string {
	switch la, lb := len(t.CompletionA), len(t.CompletionB); {
	case la > lb:
		return "a"
	case lb > la:
		return "b"
	}
	return ""
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

// The bar a labeler must clear for its labels to enter the dataset (and
// teach p(useful)): a score of at least labelBarShare of the best
// labeler's, and above labelBarFloor. Label scores are products of
// chance-corrected skills (scoring.LabelerQuality), whose scale depends on
// how hard the traps are and how much the crowd agrees, so the bar is
// relative to the best labeler the validator sees, as the labels market
// pays (a labeler at a third of the best earns a small fraction of its
// pay); the floor keeps a network of careless labelers out altogether.
const (
	labelBarShare = 1.0 / 3
	labelBarFloor = 0.01
)

// labelBar is the least score a labeler needs for its labels to be kept,
// given every labeler's score.
func labelBar(scores map[string]float64) float64 {
	best := 0.0
	for _, s := range scores {
		best = max(best, s)
	}
	return max(labelBarFloor, labelBarShare*best)
}

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
	bar := labelBar(quality)
	for _, a := range labels {
		labeler := a.miner + "/" + a.label.LabelerID
		if quality[labeler] < bar {
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
