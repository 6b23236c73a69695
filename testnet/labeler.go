package testnet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seed0ffb8d46/agora/rlhf"
)

// labeler labels on one miner's page, as a person's browser would, and
// remembers every label the miner acknowledged as stored, so that after
// the miner is killed it can ask the miner for each of them again.
type labeler struct {
	url, token string
	dialer     *websocket.Dialer

	mu    sync.Mutex
	acked map[string]rlhf.ClientMessage // by task id
}

func newLabeler(url, token string, dialer *websocket.Dialer) *labeler {
	return &labeler{url: url, token: token, dialer: dialer, acked: map[string]rlhf.ClientMessage{}}
}

// Acked is how many labels the miner has acknowledged.
func (l *labeler) Acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// run labels every task it is given until ctx ends, reconnecting while
// the miner is away.
func (l *labeler) run(ctx context.Context, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	for ctx.Err() == nil {
		_ = l.session(ctx, r)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (l *labeler) dial(ctx context.Context) (*websocket.Conn, error) {
	c, _, err := l.dialer.DialContext(ctx, l.url, http.Header{})
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { c.Close() })
	send := rlhf.ClientMessage{V: rlhf.WireVersion, Type: rlhf.MsgAuth, Token: l.token}
	if err := c.WriteJSON(send); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (l *labeler) session(ctx context.Context, r *rand.Rand) error {
	c, err := l.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.WriteJSON(rlhf.ClientMessage{V: rlhf.WireVersion, Type: rlhf.MsgResume}); err != nil {
		return err
	}
	sent := map[string]rlhf.ClientMessage{}
	for {
		var m rlhf.ServerMessage
		if err := c.ReadJSON(&m); err != nil {
			return err
		}
		switch m.Type {
		case rlhf.MsgTask:
			if m.Task == nil {
				continue
			}
			v := rlhf.VerdictLeft
			if r.IntN(2) == 1 {
				v = rlhf.VerdictRight
			}
			lab := rlhf.ClientMessage{V: rlhf.WireVersion, Type: rlhf.MsgLabel, TaskID: m.Task.ID, Choice: v, TimeOnTaskMs: 4000 + r.Int64N(8000)}
			sent[lab.TaskID] = lab
			if err := c.WriteJSON(lab); err != nil {
				return err
			}
		case rlhf.MsgAck:
			if lab, ok := sent[m.TaskID]; ok && m.Stored {
				l.mu.Lock()
				l.acked[m.TaskID] = lab
				l.mu.Unlock()
			}
		}
	}
}

// verify sends every acknowledged label again, as a page does after a
// lost ack. The miner looks each up in its label store first: stored, it
// acknowledges it again as resent; anything else means the label was
// lost. It returns how many it checked.
func (l *labeler) verify(ctx context.Context) (int, error) {
	l.mu.Lock()
	labels := make([]rlhf.ClientMessage, 0, len(l.acked))
	for _, lab := range l.acked {
		labels = append(labels, lab)
	}
	l.mu.Unlock()
	if len(labels) == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := l.dial(ctx)
	if err != nil {
		return 0, fmt.Errorf("labelling page %s: %w", l.url, err)
	}
	defer c.Close()
	// One at a time, reading every answer: a page that only writes is
	// closed by the hub for not reading its messages.
	for i, lab := range labels {
		lab.ID = fmt.Sprint(i)
		if err := c.WriteJSON(lab); err != nil {
			return 0, err
		}
		for answered := false; !answered; {
			var m rlhf.ServerMessage
			if err := c.ReadJSON(&m); err != nil {
				return 0, fmt.Errorf("labelling page %s: label %d of %d not answered: %w", l.url, i+1, len(labels), err)
			}
			switch {
			case m.Type == rlhf.MsgAck && m.Ref == lab.ID:
				if !m.Resent {
					return 0, fatal{fmt.Errorf("labelling page %s: label of task %s, acknowledged before, was stored again as new: the miner had lost it", l.url, m.TaskID)}
				}
				answered = true
			case m.Type == rlhf.MsgError && m.Ref == lab.ID:
				return 0, fatal{fmt.Errorf("labelling page %s: the label of task %s, acknowledged before, is refused now (%s: %s): the miner lost it", l.url, lab.TaskID, m.Code, m.Message)}
			}
		}
	}
	return len(labels), nil
}
