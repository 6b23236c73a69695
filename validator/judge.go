package validator

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/scoring"
)

// Judge is an LLM asked whether an answer is useful: *llm.Judge, over an
// OpenAI-compatible server (validator.judge_url, judge_model).
type Judge interface {
	Useful(ctx context.Context, prompt, answer string) (llm.JudgeVerdict, error)
}

// judgeQueue is how many answers may wait for the judge; beyond it they
// are not asked about (the judge is a sample, and must never hold a
// step up).
const judgeQueue = 64

// judgeTimeout bounds one question to the judge.
const judgeTimeout = 30 * time.Second

// judgeItem is an answer waiting for the judge.
type judgeItem struct {
	in    scoring.UsefulInput
	miner string
}

// askJudge queues an answer that passed every check for the judge, in
// JudgeShare of the cases; it never blocks.
func (v *Validator) askJudge(in scoring.UsefulInput, miner string) {
	if v.judgeq == nil || rand.Float64() >= v.cfg.JudgeShare {
		return
	}
	select {
	case v.judgeq <- judgeItem{in: in, miner: miner}:
	default:
		v.metrics.judged.WithLabelValues("dropped").Inc()
	}
}

// runJudge asks the judge about the queued answers, one at a time, until
// ctx ends, and distils its verdicts into p(useful): its probability of
// "useful" is a soft label (scoring.EvidenceJudge).
func (v *Validator) runJudge(ctx context.Context) {
	for {
		var it judgeItem
		select {
		case <-ctx.Done():
			return
		case it = <-v.judgeq:
		}
		jctx, cancel := context.WithTimeout(ctx, judgeTimeout)
		verdict, err := v.cfg.Judge.Useful(jctx, it.in.Prompt, it.in.Response)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			v.metrics.judged.WithLabelValues("failed").Inc()
			v.log.Warn("judge", zap.Error(err))
			continue
		}
		v.metrics.judged.WithLabelValues("ok").Inc()
		if err := v.useful.TrainProb(it.in, verdict.P, it.miner, scoring.EvidenceJudge); err != nil && !errors.Is(err, scoring.ErrMinerCapped) {
			v.log.Debug("train p(useful) on the judge's verdict", zap.Error(err))
		}
	}
}
