package testnet

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// proc is one long-running bin/agora process on a host: a chain node, a
// miner or a validator. Its output goes to <dir>/<host>.log, appended
// across restarts.
type proc struct {
	host string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	// expectExit is set before the harness stops or kills it; an exit
	// without it is a failure of the run.
	expectExit bool
	logPath    string
}

// exited reports whether p has exited, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// crashed is the error of a process that exited without the harness
// stopping or killing it, with the end of its log; nil otherwise.
func (p *proc) crashed() error {
	if done, err := p.exited(); done && !p.expectExit {
		return fmt.Errorf("%s exited unexpectedly (%v); the end of its log:\n%s", p.host, err, p.tail(30))
	}
	return nil
}

// kill9 kills p with SIGKILL and waits for it. A process that had
// already exited on its own is an error.
func (p *proc) kill9() error {
	if err := p.crashed(); err != nil {
		return err
	}
	p.expectExit = true
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	return nil
}

// stop asks p to stop with SIGTERM and waits up to grace, then kills it.
// It returns the exit error of a process that did not stop cleanly.
func (p *proc) stop(grace time.Duration) error {
	if done, _ := p.exited(); done {
		return nil
	}
	p.expectExit = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", p.host, grace)
	}
}

// tail is the last n lines of p's log.
func (p *proc) tail(n int) string {
	return tailFile(p.logPath, n)
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// startProc starts cmd (built by Network.Command) with its output to
// logPath. The process is killed if the harness dies (Pdeathsig).
func startProc(host string, cmd *exec.Cmd, logPath string) (*proc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "\n=== %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a Ctrl-C at the terminal reaches the harness,
	// which stops every process itself, and not the daemons directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", host, err)
	}
	p := &proc{host: host, args: cmd.Args, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}
