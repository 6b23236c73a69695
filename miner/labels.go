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
// address. Close it when done.
func OpenLabels(dir, minerAddress string, log *zap.Logger) (*Labels, error) {
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
	hub, err := rlhf.NewHub(rlhf.HubConfig{Store: store, Queue: queue, Tokens: tokens, Miner: minerAddress, Logger: log, TrapStats: traps.Stats})
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

// MaxPreferenceTasks bounds the tasks in one POST /v1/preference/tasks.
const MaxPreferenceTasks = 256

// PreferenceTasks is the body of POST /v1/preference/tasks.
type PreferenceTasks struct {
	Tasks []rlhf.Task `json:"tasks"`
}

// PreferenceLabelsRequest is the body of POST /v1/preference/labels: the
// ids of tasks the caller sent whose labels it wants.
type PreferenceLabelsRequest struct {
	TaskIDs []string `json:"task_ids"`
}

// PreferenceLabels is the answer: every stored label of those tasks.
type PreferenceLabels struct {
	Labels []rlhf.Label `json:"labels"`
}

// TaskPrefix is how a validator's task ids must start: its hotkey in hex
// and a colon. A miner serves a task's labels only to the validator whose
// prefix it bears, so validators cannot read each other's labels.
func TaskPrefix(validatorHex string) string { return validatorHex + ":" }

// TrapResult is a validator's verdict on one label of one of its traps.
type TrapResult = rlhf.TrapVerdict

// PreferenceResults is the body of POST /v1/preference/results: the
// outcomes of the caller's traps, which the labelers see as their own
// accuracy.
type PreferenceResults struct {
	Results []TrapResult `json:"results"`
}

// preferenceResults takes a validator's trap outcomes.
func (m *Miner) preferenceResults(w http.ResponseWriter, r *http.Request) {
	c, ok := m.signedCall(w, r, "preference_results")
	if !ok {
		return
	}
	defer c.done()
	var in PreferenceResults
	if err := decodeJSON(c.vr.Body, &in); err != nil {
		c.fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(in.Results) > 4*MaxPreferenceTasks {
		c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("results: %d, at most %d", len(in.Results), 4*MaxPreferenceTasks))
		return
	}
	// Only the caller's own tasks, only labels this miner holds.
	prefix := TaskPrefix(c.vr.SignedBy.Hex())
	var mine []TrapResult
	for _, res := range in.Results {
		if !strings.HasPrefix(res.TaskID, prefix) {
			continue
		}
		if _, ok := m.cfg.Labels.Store.Get(res.TaskID, res.LabelerID); ok {
			mine = append(mine, res)
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
	var in PreferenceTasks
	if err := decodeJSON(c.vr.Body, &in); err != nil {
		c.fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > MaxPreferenceTasks {
		c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("tasks: %d, want 1 to %d", len(in.Tasks), MaxPreferenceTasks))
		return
	}
	prefix := TaskPrefix(c.vr.SignedBy.Hex())
	for i := range in.Tasks {
		t := &in.Tasks[i]
		if !strings.HasPrefix(t.ID, prefix) {
			c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("tasks[%d].id %q must start with your hotkey and a colon, %q", i, t.ID, prefix))
			return
		}
		t.Validator = c.vr.SignedBy.Hex() // the signer, whatever the body says
		if err := t.Validate(); err != nil {
			c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("tasks[%d]: %v", i, err))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := m.cfg.Labels.Queue.Add(ctx, in.Tasks...); err != nil {
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
	var in PreferenceLabelsRequest
	if err := decodeJSON(c.vr.Body, &in); err != nil {
		c.fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(in.TaskIDs) > 4*MaxPreferenceTasks {
		c.fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("task_ids: %d, at most %d", len(in.TaskIDs), 4*MaxPreferenceTasks))
		return
	}
	prefix := TaskPrefix(c.vr.SignedBy.Hex())
	want := make(map[string]bool, len(in.TaskIDs))
	for _, id := range in.TaskIDs {
		if !strings.HasPrefix(id, prefix) {
			c.fail(http.StatusForbidden, "not_your_task", fmt.Sprintf("task %q is not yours: your tasks start with %q", id, prefix))
			return
		}
		want[id] = true
	}
	out := PreferenceLabels{Labels: []rlhf.Label{}}
	for l := range m.cfg.Labels.Store.Iterate() {
		if want[l.TaskID] {
			out.Labels = append(out.Labels, l)
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
	// On a refusal the deadline stays, so that the server's draining of
	// an unread body before it answers cannot hang either.
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
		protocol.WriteError(w, err)
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
