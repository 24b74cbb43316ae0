package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/signal"
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
}

type harnessContext struct{}

type counter struct {
	mu         sync.Mutex
	done       int64
	firstStart int64
	lastEnd    int64
	exitAfter  int64
	reached    chan struct{}
}

func (c *counter) started(ts int64) {
	c.mu.Lock()
	if c.firstStart == 0 {
		c.firstStart = ts
	}
	c.mu.Unlock()
}

func (c *counter) finished(ts int64) {
	c.mu.Lock()
	c.done++
	c.lastEnd = ts
	if c.exitAfter > 0 && c.done == c.exitAfter {
		close(c.reached)
	}
	c.mu.Unlock()
}

func makeHandler(b behavior, quiet bool, cnt *counter) func(*work.Job) error {
	message := b.Error
	if message == "" {
		message = "harness failure"
	}
	return func(job *work.Job) (err error) {
		ts := time.Now().UnixNano()
		cnt.started(ts)
		if !quiet {
			emit(map[string]interface{}{
				"event": "job_start", "name": job.Name, "id": job.ID, "t": job.EnqueuedAt,
				"args": job.Args, "fails": job.Fails, "err": job.LastErr, "failed_at": job.FailedAt,
				"unique": job.Unique, "ts_ns": ts, "pid": os.Getpid(),
			})
		}
		result := "ok"
		defer func() {
			end := time.Now().UnixNano()
			if !quiet {
				emit(map[string]interface{}{"event": "job_end", "name": job.Name, "id": job.ID,
					"result": result, "ts_ns": end})
			}
			cnt.finished(end)
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
			result = "panic"
		}
		return nil
	}
}

// findPoolID reads the pool id (unexported upstream) from the heartbeat that carries our pid.
func findPoolID(pool *redis.Pool, ns string) string {
	client := work.NewClient(ns, pool)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		beats, err := client.WorkerPoolHeartbeats()
		if err == nil {
			for _, b := range beats {
				if b.Pid == os.Getpid() {
					return b.WorkerPoolID
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ""
}

func runWorker(pool *redis.Pool, ns string, configText string) {
	var cfg workerConfig
	if err := json.Unmarshal(readConfig(configText), &cfg); err != nil {
		fail("config: %v", err)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 10
	}
	cnt := &counter{exitAfter: cfg.ExitAfter, reached: make(chan struct{})}
	wp := work.NewWorkerPool(harnessContext{}, cfg.Concurrency, ns, pool)
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
		wp.JobWithOptions(name, opts, makeHandler(jc.Behavior, cfg.Quiet, cnt))
	}
	for _, p := range cfg.Periodic {
		wp.PeriodicallyEnqueue(p.Spec, p.Name)
	}

	wp.Start()
	emit(map[string]interface{}{"event": "started", "pool_id": findPoolID(pool, ns), "pid": os.Getpid()})

	stop := make(chan struct{})
	var stopOnce sync.Once
	requestStop := func() { stopOnce.Do(func() { close(stop) }) }

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		requestStop()
	}()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			switch strings.TrimSpace(sc.Text()) {
			case "drain":
				wp.Drain()
				emit(map[string]interface{}{"event": "drained"})
			case "stop":
				requestStop()
				return
			}
		}
	}()

	select {
	case <-stop:
	case <-cnt.reached:
		cnt.mu.Lock()
		emit(map[string]interface{}{"event": "done", "count": cnt.done, "first_start_ns": cnt.firstStart,
			"last_end_ns": cnt.lastEnd})
		cnt.mu.Unlock()
	}
	wp.Stop()
	emit(map[string]interface{}{"event": "stopped"})
}
