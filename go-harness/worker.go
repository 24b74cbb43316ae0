package main

// worker: a work.WorkerPool with handlers whose behaviour the config chooses.
//
// Config (-config JSON or @FILE):
//
//	{"concurrency": int (default 10),
//	 "jobs": {NAME: {"priority": int, "max_fails": int, "skip_dead": bool, "max_concurrency": int,
//	                 "backoff_seconds": int|null (fixed JobOptions.Backoff when set),
//	                 "behavior": {"kind": "succeed"|"fail"|"fail_n"|"panic"|"sleep",
//	                              "n": int (fail_n: fail while job.Fails < n, then succeed),
//	                              "sleep_ms": int (sleep in the handler before the outcome, any kind),
//	                              "checkin": str (job.Checkin(msg) first, then the sleep),
//	                              "error": str (the returned error's message, default "harness failure")}}},
//	 "middleware": bool, "periodic": [{"spec": str, "name": str}], "quiet": bool, "exit_after": int,
//	 "sleep_backoffs": [int] (idle sleeps in ms, WorkerPoolOptions.SleepBackoffs; master builds only,
//	                          refused by a v0.5.1 build)}
//
// Lines printed:
//
//	{"event":"started","pool_id":str,"pid":int}           after Start, once the heartbeat is in Redis
//	{"event":"middleware","name","id"}                     from the generic middleware, before next()
//	{"event":"job_start","name","id","t","args","fails","err","failed_at","unique","ts_ns","pid"}
//	{"event":"job_end","name","id","result":"ok"|"error"|"panic","ts_ns"}   (job_* not when quiet)
//	{"event":"done","count","first_start_ns","last_end_ns","peak_rss_kb"}  exit_after handler calls ended; then Stop
//	                                                       (peak_rss_kb: VmHWM of this process, Linux only)
//	{"event":"drained"}                                    after the stdin command "drain" (wp.Drain())
//	{"event":"stopped"}                                    after wp.Stop() ("stop", SIGTERM/SIGINT, done); exit 0
//
// EOF on stdin is ignored.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
)

type behavior struct {
	Kind    string `json:"kind"`
	N       int64  `json:"n"`
	SleepMs int64  `json:"sleep_ms"`
	Checkin string `json:"checkin"`
	Error   string `json:"error"`
}

type jobConfig struct {
	Priority       uint     `json:"priority"`
	MaxFails       uint     `json:"max_fails"`
	SkipDead       bool     `json:"skip_dead"`
	MaxConcurrency uint     `json:"max_concurrency"`
	BackoffSeconds *int64   `json:"backoff_seconds"`
	Behavior       behavior `json:"behavior"`
}

type periodicConfig struct {
	Spec string `json:"spec"`
	Name string `json:"name"`
}

type workerConfig struct {
	Concurrency uint                 `json:"concurrency"`
	Jobs        map[string]jobConfig `json:"jobs"`
	Middleware  bool                 `json:"middleware"`
	Periodic    []periodicConfig     `json:"periodic"`
	Quiet       bool                 `json:"quiet"`
	ExitAfter   int64                `json:"exit_after"`
	// SleepBackoffs: see pooloptions_master.go / pooloptions_v051.go.
	SleepBackoffs []int64 `json:"sleep_backoffs"`
}

// harnessContext is the pool's context type; the handlers are generic functions.
type harnessContext struct{}

// tally counts finished handler calls for exit_after.
type tally struct {
	mu         sync.Mutex
	done       int64
	firstStart int64
	lastEnd    int64
	exitAfter  int64
	reached    chan struct{}
}

func (t *tally) started(ts int64) {
	t.mu.Lock()
	if t.firstStart == 0 {
		t.firstStart = ts
	}
	t.mu.Unlock()
}

func (t *tally) finished(ts int64) {
	t.mu.Lock()
	t.done++
	t.lastEnd = ts
	if t.exitAfter > 0 && t.done == t.exitAfter {
		close(t.reached)
	}
	t.mu.Unlock()
}

func makeHandler(b behavior, quiet bool, t *tally) func(*work.Job) error {
	message := b.Error
	if message == "" {
		message = "harness failure"
	}
	return func(job *work.Job) error {
		start := time.Now().UnixNano()
		t.started(start)
		if !quiet {
			emit(map[string]interface{}{
				"event": "job_start", "name": job.Name, "id": job.ID, "t": job.EnqueuedAt,
				"args": job.Args, "fails": job.Fails, "err": job.LastErr, "failed_at": job.FailedAt,
				"unique": job.Unique, "ts_ns": start, "pid": os.Getpid(),
			})
		}
		result := "ok"
		defer func() {
			end := time.Now().UnixNano()
			if !quiet {
				emit(map[string]interface{}{"event": "job_end", "name": job.Name, "id": job.ID,
					"result": result, "ts_ns": end})
			}
			t.finished(end)
			if result == "panic" {
				panic("harness panic")
			}
		}()
		if b.Checkin != "" {
			job.Checkin(b.Checkin)
		}
		if b.SleepMs > 0 {
			time.Sleep(time.Duration(b.SleepMs) * time.Millisecond)
		}
		switch b.Kind {
		case "fail":
			result = "error"
			return errors.New(message)
		case "fail_n":
			if job.Fails < b.N {
				result = "error"
				return errors.New(message)
			}
		case "panic":
			result = "panic" // the deferred function panics after reporting
		}
		return nil
	}
}

// poolID returns the pool's id. gocraft/work keeps it unexported; reflection can read an
// unexported string field. Should the field ever be missing, the heartbeat carrying this
// process's pid is used instead.
func poolID(wp *work.WorkerPool, pool *redis.Pool, ns string) string {
	if f := reflect.ValueOf(wp).Elem().FieldByName("workerPoolID"); f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	client := work.NewClient(ns, pool)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		beats, err := client.WorkerPoolHeartbeats()
		if err != nil {
			continue
		}
		for _, b := range beats {
			if b.Pid == os.Getpid() {
				return b.WorkerPoolID
			}
		}
	}
	return ""
}

// awaitHeartbeat waits until the pool's id is in <ns>:worker_pools (the heartbeater writes
// it right after Start, from a goroutine), so "started" means other processes can see us.
func awaitHeartbeat(pool *redis.Pool, ns string, id string) {
	key := namespacePrefix(ns) + "worker_pools"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		conn := pool.Get()
		member, err := redis.Bool(conn.Do("SISMEMBER", key, id))
		conn.Close()
		if err == nil && member {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "gowork-harness: heartbeat of pool %q not seen in %s within 10s\n", id, key)
}

func parseWorkerConfig(text []byte) workerConfig {
	var cfg workerConfig // unknown keys are ignored: configs are shared with tests/interop/pyworker.py
	if err := json.Unmarshal(text, &cfg); err != nil {
		fail("worker config: %v", err)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 10
	}
	for _, ms := range cfg.SleepBackoffs {
		if ms < 0 {
			fail("worker config: sleep_backoffs are non-negative milliseconds, got %d", ms)
		}
	}
	for name, jc := range cfg.Jobs {
		switch jc.Behavior.Kind {
		case "", "succeed", "fail", "fail_n", "panic", "sleep":
		default:
			fail("worker config: job %q: unknown behavior kind %q", name, jc.Behavior.Kind)
		}
	}
	return cfg
}

func runWorker(pool *redis.Pool, ns string, configText []byte) {
	cfg := parseWorkerConfig(configText)
	t := &tally{exitAfter: cfg.ExitAfter, reached: make(chan struct{})}
	wp := newWorkerPool(cfg.Concurrency, ns, pool, cfg.SleepBackoffs)
	if cfg.Middleware {
		wp.Middleware(func(job *work.Job, next work.NextMiddlewareFunc) error {
			emit(map[string]interface{}{"event": "middleware", "name": job.Name, "id": job.ID})
			return next()
		})
	}
	for name, jc := range cfg.Jobs {
		opts := work.JobOptions{
			Priority:       jc.Priority,
			MaxFails:       jc.MaxFails,
			SkipDead:       jc.SkipDead,
			MaxConcurrency: jc.MaxConcurrency,
		}
		if jc.BackoffSeconds != nil {
			secs := *jc.BackoffSeconds
			opts.Backoff = func(*work.Job) int64 { return secs }
		}
		wp.JobWithOptions(name, opts, makeHandler(jc.Behavior, cfg.Quiet, t))
	}
	for _, p := range cfg.Periodic {
		addPeriodic(wp, p)
	}

	// Signals are caught before "started" is printed: a test may send SIGTERM right after.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	wp.Start()
	id := poolID(wp, pool, ns)
	awaitHeartbeat(pool, ns, id)
	emit(map[string]interface{}{"event": "started", "pool_id": id, "pid": os.Getpid()})

	stop := make(chan struct{})
	var stopOnce sync.Once
	requestStop := func() { stopOnce.Do(func() { close(stop) }) }

	go func() {
		<-sigs
		requestStop()
	}()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			switch cmd := strings.TrimSpace(sc.Text()); cmd {
			case "drain":
				wp.Drain()
				emit(map[string]interface{}{"event": "drained"})
			case "stop":
				requestStop()
				return
			case "":
			default:
				fmt.Fprintf(os.Stderr, "gowork-harness: unknown worker command %q\n", cmd)
			}
		}
		// EOF: keep running until stopped otherwise.
	}()

	select {
	case <-stop:
	case <-t.reached:
		t.mu.Lock()
		done := map[string]interface{}{"event": "done", "count": t.done, "first_start_ns": t.firstStart,
			"last_end_ns": t.lastEnd}
		if kb, ok := peakRSSKB(); ok {
			done["peak_rss_kb"] = kb
		}
		emit(done)
		t.mu.Unlock()
	}
	wp.Stop()
	emit(map[string]interface{}{"event": "stopped"})
}

// addPeriodic registers a periodic job; upstream panics on a spec it cannot parse, which
// is reported here as a config error.
func addPeriodic(wp *work.WorkerPool, p periodicConfig) {
	defer func() {
		if r := recover(); r != nil {
			fail("worker config: periodic %q (%s): %v", p.Spec, p.Name, r)
		}
	}()
	wp.PeriodicallyEnqueue(p.Spec, p.Name)
}

// peakRSSKB is this process's VmHWM from /proc/self/status (read by the process itself, so
// the figure is there even when the reader of the events sees the process exit first).
func peakRSSKB() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, found := strings.CutPrefix(line, "VmHWM:"); found {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				if kb, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					return kb, true
				}
			}
		}
	}
	return 0, false
}
