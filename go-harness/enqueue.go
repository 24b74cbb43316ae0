package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
)

type enqueueRequest struct {
	Method  string          `json:"method"`
	Name    string          `json:"name"`
	Args    json.RawMessage `json:"args"`
	In      int64           `json:"in"`
	Key     json.RawMessage `json:"key"`
	ArgsInt bool            `json:"args_int"`
}

// decodeArgs decodes as a Go service would hold its args: plain Unmarshal gives float64
// numbers; with asInt, integral numbers become int64 (what Go code usually passes).
func decodeArgs(raw json.RawMessage, asInt bool) (map[string]interface{}, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if !asInt {
		var m map[string]interface{}
		err := json.Unmarshal(raw, &m)
		return m, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]interface{}
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return convertNumbers(m).(map[string]interface{}), nil
}

func convertNumbers(v interface{}) interface{} {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]interface{}:
		for k, x := range t {
			t[k] = convertNumbers(x)
		}
		return t
	case []interface{}:
		for i, x := range t {
			t[i] = convertNumbers(x)
		}
		return t
	}
	return v
}

func runEnqueue(pool *redis.Pool, ns string) {
	enq := work.NewEnqueuer(ns, pool)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var req enqueueRequest
		if err := json.Unmarshal(line, &req); err != nil {
			emit(map[string]interface{}{"error": "bad request: " + err.Error()})
			continue
		}
		args, err := decodeArgs(req.Args, req.ArgsInt)
		if err != nil {
			emit(map[string]interface{}{"error": "bad args: " + err.Error()})
			continue
		}
		resp := map[string]interface{}{}
		var job *work.Job
		var sj *work.ScheduledJob
		switch req.Method {
		case "Enqueue":
			job, err = enq.Enqueue(req.Name, args)
		case "EnqueueIn":
			sj, err = enq.EnqueueIn(req.Name, req.In, args)
		case "EnqueueUnique":
			job, err = enq.EnqueueUnique(req.Name, args)
		case "EnqueueUniqueIn":
			sj, err = enq.EnqueueUniqueIn(req.Name, req.In, args)
		case "EnqueueUniqueByKey", "EnqueueUniqueInByKey":
			emit(map[string]interface{}{"error": "unsupported: gocraft/work v0.5.1 has no " + req.Method})
			continue
		default:
			emit(map[string]interface{}{"error": "unknown method " + req.Method})
			continue
		}
		if sj != nil {
			job = sj.Job
			resp["run_at"] = sj.RunAt
		}
		resp["job"] = job
		if err != nil {
			resp["error"] = err.Error()
		}
		emit(resp)
	}
}

func runEnqueueBench(pool *redis.Pool, ns string, n int, names string, argsJSON string, conc int) {
	enq := work.NewEnqueuer(ns, pool)
	list := strings.Split(names, ",")
	args, err := decodeArgs(json.RawMessage(argsJSON), true)
	if err != nil {
		fail("bench-args: %v", err)
	}
	if conc < 1 {
		conc = 1
	}
	start := time.Now()
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += conc {
				if _, err := enq.Enqueue(list[i%len(list)], args); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		}(g)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	resp := map[string]interface{}{"count": n, "seconds": secs}
	if firstErr != nil {
		resp["error"] = firstErr.Error()
	}
	emit(resp)
}
