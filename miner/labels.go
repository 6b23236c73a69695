package miner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/api"
	"github.com/seed0ffb8d46/agora/protocol"
	"github.com/seed0ffb8d46/agora/rlhf"
)

// Labels is a miner's human preference side: the durable store of its
// labelers' labels, the queue of validators' tasks, the labelers' tokens
// and the hub serving the labelling page.
type Labels struct {
	Store  *rlhf.Store
	Queue  *rlhf.Queue
	Tokens *rlhf.Tokens
	Hub    *rlhf.Hub
	// Traps holds what validators told of their traps' outcomes: each
	// labeler's own accuracy, on its page.
	Traps *rlhf.TrapBook
}

// TrapStats returns how many of a labeler's trap labels validators have
// resolved, and how many were right.
func (l *Labels) TrapStats(labeler string) (resolved, correct int) { return l.Traps.Stats(labeler) }

// Files in a miner's labels directory.
const (
	LabelsFile   = "labels.log"
	TasksFile    = "tasks.log"
	LabelersFile = "labelers.json"
	TrapsFile    = "traps.log"
)

// OpenLabels opens (creating them if need be) the label store, task queue
// and labeler tokens in dir, and a hub over them for the miner's hotkey
// address whose page may be opened from origins (rlhf.HubConfig's
// AllowedOrigins: the miner's public addresses; loopback pages of the
// miner itself need none). Close it when done.
func OpenLabels(dir, minerAddress string, origins []string, log *zap.Logger) (*Labels, error) {
	store, err := rlhf.OpenStore(filepath.Join(dir, LabelsFile), rlhf.StoreOptions{})
	if err != nil {
		return nil, fmt.Errorf("miner: labels: %w", err)
	}
	queue, err := rlhf.OpenQueue(filepath.Join(dir, TasksFile), rlhf.QueueOptions{Store: store})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("miner: labels: %w", err)
	}
	tokens, err := rlhf.OpenTokens(filepath.Join(dir, LabelersFile))
	if err != nil {
		queue.Close()
		store.Close()
		return nil, fmt.Errorf("miner: labels: %w", err)
	}
	traps, err := rlhf.OpenTrapBook(filepath.Join(dir, TrapsFile))
	if err != nil {
		queue.Close()
		store.Close()
		return nil, fmt.Errorf("miner: labels: %w", err)
	}
	hub, err := rlhf.NewHub(rlhf.HubConfig{Store: store, Queue: queue, Tokens: tokens, Miner: minerAddress, AllowedOrigins: origins, Logger: log, TrapStats: traps.Stats})
	if err != nil {
		traps.Close()
		queue.Close()
		store.Close()
		return nil, fmt.Errorf("miner: labels: %w", err)
	}
	return &Labels{Store: store, Queue: queue, Tokens: tokens, Hub: hub, Traps: traps}, nil
}

// Close closes the hub's connections, then the trap book, the queue and
// the store.
func (l *Labels) Close() error {
	l.Hub.Close()
	return errors.Join(l.Traps.Close(), l.Queue.Close(), l.Store.Close())
}

// The miner's preference endpoints speak api's messages; its labelers'
// side (queue, store, trap book) keeps rlhf's types. These convert.

// taskOf is the task a validator sent, as the queue keeps it: never a
// trap, as far as the miner knows.
func taskOf(t api.PreferenceTask) rlhf.Task {
	return rlhf.Task{ID: t.ID, Prompt: t.Prompt, CompletionA: t.CompletionA, CompletionB: t.CompletionB,
		ModelA: t.ModelA, ModelB: t.ModelB, Validator: t.Validator, Deadline: t.Deadline, CreatedAt: t.CreatedAt}
}

// wireLabel is a stored label as a validator receives it.
func wireLabel(l rlhf.Label) api.PreferenceLabel {
	return api.PreferenceLabel{TaskID: l.TaskID, LabelerID: l.LabelerID, Choice: string(l.Choice), Rationale: l.Rationale,
		TimeOnTaskMs: l.TimeOnTaskMs, ShownALeft: l.ShownALeft, Miner: l.Miner, ReceivedAt: l.ReceivedAt}
}

// preferenceResults takes a validator's trap outcomes.
func (m *Miner) preferenceResults(w http.ResponseWriter, r *http.Request) {
	c, ok := m.signedCall(w, r, "preference_results")
	if !ok {
		return
	}
	defer c.done()
	var in api.PreferenceResults
	if err := decodeJSON(c.vr.Body, &in); err != nil {
		c.fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(in.Results) > 4*api.MaxPreferenceTasks {
		c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("results: %d, at most %d", len(in.Results), 4*api.MaxPreferenceTasks))
		return
	}
	// Only the caller's own tasks, only labels this miner holds.
	prefix := api.TaskPrefix(c.vr.SignedBy.Hex())
	var mine []rlhf.TrapVerdict
	for _, res := range in.Results {
		if !strings.HasPrefix(res.TaskID, prefix) {
			continue
		}
		if _, ok := m.cfg.Labels.Store.Get(res.TaskID, res.LabelerID); ok {
			mine = append(mine, rlhf.TrapVerdict{TaskID: res.TaskID, LabelerID: res.LabelerID, Correct: res.Correct})
		}
	}
	accepted, changed, err := m.cfg.Labels.Traps.Record(mine)
	if err != nil {
		m.log.Error("recording trap results", zap.Error(err))
		c.fail(http.StatusInternalServerError, "storage_error", "recording trap results: "+err.Error())
		return
	}
	for _, l := range changed {
		m.cfg.Labels.Hub.RefreshStats(l)
	}
	body, _ := json.Marshal(map[string]int{"accepted": accepted})
	c.reply(http.StatusOK, body)
}

// preferenceTasks queues a validator's tasks for the labelers.
func (m *Miner) preferenceTasks(w http.ResponseWriter, r *http.Request) {
	c, ok := m.signedCall(w, r, "preference_tasks")
	if !ok {
		return
	}
	defer c.done()
	var in api.PreferenceTasks
	if err := decodeJSON(c.vr.Body, &in); err != nil {
		c.fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > api.MaxPreferenceTasks {
		c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("tasks: %d, want 1 to %d", len(in.Tasks), api.MaxPreferenceTasks))
		return
	}
	prefix := api.TaskPrefix(c.vr.SignedBy.Hex())
	tasks := make([]rlhf.Task, len(in.Tasks))
	for i, wt := range in.Tasks {
		t := taskOf(wt)
		if !strings.HasPrefix(t.ID, prefix) {
			c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("tasks[%d].id %q must start with your hotkey and a colon, %q", i, t.ID, prefix))
			return
		}
		t.Validator = c.vr.SignedBy.Hex() // the signer, whatever the body says
		if err := t.Validate(); err != nil {
			c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("tasks[%d]: %v", i, err))
			return
		}
		tasks[i] = t
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := m.cfg.Labels.Queue.Add(ctx, tasks...); err != nil {
		status, reason := http.StatusServiceUnavailable, "queue_error"
		switch {
		case errors.Is(err, rlhf.ErrQueueFull), errors.Is(err, rlhf.ErrValidatorQuota):
			reason = "queue_full"
		case errors.Is(err, rlhf.ErrDeadlineTooFar), errors.Is(err, rlhf.ErrTaskExpired):
			status, reason = http.StatusBadRequest, "bad_request"
		}
		c.fail(status, reason, err.Error())
		return
	}
	body, _ := json.Marshal(map[string]int{"accepted": len(in.Tasks)})
	c.reply(http.StatusOK, body)
}

// preferenceLabels returns the labels of the caller's tasks.
func (m *Miner) preferenceLabels(w http.ResponseWriter, r *http.Request) {
	c, ok := m.signedCall(w, r, "preference_labels")
	if !ok {
		return
	}
	defer c.done()
	var in api.PreferenceLabelsRequest
	if err := decodeJSON(c.vr.Body, &in); err != nil {
		c.fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(in.TaskIDs) > 4*api.MaxPreferenceTasks {
		c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("task_ids: %d, at most %d", len(in.TaskIDs), 4*api.MaxPreferenceTasks))
		return
	}
	prefix := api.TaskPrefix(c.vr.SignedBy.Hex())
	want := make(map[string]bool, len(in.TaskIDs))
	for _, id := range in.TaskIDs {
		if !strings.HasPrefix(id, prefix) {
			c.fail(http.StatusForbidden, "not_your_task", fmt.Sprintf("task %q is not yours: your tasks start with %q", id, prefix))
			return
		}
		want[id] = true
	}
	out := api.PreferenceLabels{Labels: []api.PreferenceLabel{}}
	for l := range m.cfg.Labels.Store.Iterate() {
		if want[l.TaskID] {
			out.Labels = append(out.Labels, wireLabel(l))
		}
	}
	body, _ := json.Marshal(out)
	c.reply(http.StatusOK, body)
}

// signedCall runs the signed-request check, the rate limit and, for the
// preference endpoints, the presence of labels, answering the refusal
// itself. Call done when the call ends.
func (m *Miner) signedCall(w http.ResponseWriter, r *http.Request, endpoint string) (*call, bool) {
	c := &call{m: m, w: w, parent: r.Context(), endpoint: endpoint, start: m.now()}
	// The body must arrive within BodyTimeout: a caller trickling it
	// would otherwise hold a goroutine and its buffer for as long as it
	// likes. (Not the server's ReadTimeout, whose deadline would also end
	// long streamed answers.)
	// A refusal closes the connection (WriteRejection) rather than let
	// the server drain the unread body first; the deadline stays anyway.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(m.cfg.BodyTimeout))
	vr, err := m.verifier.Verify(r)
	if err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) {
			m.metrics.rejections.WithLabelValues(string(pe.Code)).Inc()
			c.status = pe.Status
		} else {
			c.status = http.StatusInternalServerError
		}
		protocol.WriteRejection(w, err)
		c.done()
		return nil, false
	}
	c.vr, c.id = vr, vr.UUID
	if m.cfg.Labels == nil && strings.HasPrefix(endpoint, "preference") {
		c.fail(http.StatusNotFound, "no_labelers", "this miner has no labelers")
		c.done()
		return nil, false
	}
	return c, true
}
