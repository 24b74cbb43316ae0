package main

// enqueue: one work.Enqueuer call per request line on stdin, one reply line each.
//
// Request: {"method": "Enqueue"|"EnqueueIn"|"EnqueueUnique"|"EnqueueUniqueIn"|
//                     "EnqueueUniqueByKey"|"EnqueueUniqueInByKey",
//           "name": str, "args": object|null, "in": seconds (the In methods),
//           "key": object (the ByKey methods), "args_int": bool}
//       or {"method": "Do", "command": [str, ...]}: one Redis command on the enqueuer's pool
//          between calls (reply {"reply": its reply}), e.g. to SREM known_jobs and see
//          whether the same Enqueuer writes it again.
// Reply:   {"job": <*Job as json.Marshal prints it, null when the enqueuer returned nil>,
//           "run_at": int (In methods, when a job was scheduled), "error": str (when err != nil)}
//
// Args (and key) are decoded with plain json.Unmarshal, so numbers are float64. With
// "args_int" they are decoded with UseNumber and integral numbers become int64 (the
// rest float64), recursively: what a Go service passing ints would hand to the enqueuer.
//
// Bench mode (-bench N): N Enqueue calls round-robin over -names from -bench-concurrency
// goroutines (default 1), args from -args (decoded as with "args_int"; none: nil args);
// reply {"count": N, "seconds": float, "error"?: first error}.

import (
	"bytes"
	"encoding/json"
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
	Command []string        `json:"command"`
}

// decodeObject decodes a JSON object (or null, or nothing, giving a nil map) the way the
// request asks for: float64 numbers, or with asInt int64 for integral numbers.
func decodeObject(raw []byte, asInt bool) (map[string]interface{}, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var m map[string]interface{}
	if !asInt {
		err := json.Unmarshal(raw, &m)
		return m, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	convertNumbers(m)
	return m, nil
}

// convertNumbers turns json.Number values into int64 when integral, float64 otherwise.
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
	case []interface{}:
		for i, x := range t {
			t[i] = convertNumbers(x)
		}
	}
	return v
}

func runEnqueue(pool *redis.Pool, ns string) {
	enq := work.NewEnqueuer(ns, pool)
	sc := newLineScanner()
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		emit(enqueueOne(enq, line))
	}
	if err := sc.Err(); err != nil {
		fail("enqueue: reading stdin: %v", err)
	}
}

func enqueueOne(enq *work.Enqueuer, line []byte) map[string]interface{} {
	var req enqueueRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return map[string]interface{}{"error": "harness: bad request: " + err.Error()}
	}
	if req.Method == "Do" {
		return doCommand(enq, req.Command)
	}
	args, err := decodeObject(req.Args, req.ArgsInt)
	if err != nil {
		return map[string]interface{}{"error": "harness: bad args: " + err.Error()}
	}
	var job *work.Job
	var scheduled *work.ScheduledJob
	switch req.Method {
	case "Enqueue":
		job, err = enq.Enqueue(req.Name, args)
	case "EnqueueIn":
		scheduled, err = enq.EnqueueIn(req.Name, req.In, args)
	case "EnqueueUnique":
		job, err = enq.EnqueueUnique(req.Name, args)
	case "EnqueueUniqueIn":
		scheduled, err = enq.EnqueueUniqueIn(req.Name, req.In, args)
	case "EnqueueUniqueByKey", "EnqueueUniqueInByKey":
		key, kerr := decodeObject(req.Key, req.ArgsInt)
		if kerr != nil {
			return map[string]interface{}{"error": "harness: bad key: " + kerr.Error()}
		}
		var supported bool
		job, scheduled, supported, err = enqueueByKey(enq, req, args, key)
		if !supported {
			return map[string]interface{}{"error": "unsupported: gocraft/work " + upstreamVersion + " has no " + req.Method}
		}
	default:
		return map[string]interface{}{"error": "harness: unknown method " + req.Method}
	}
	reply := map[string]interface{}{}
	if scheduled != nil {
		job = scheduled.Job
		reply["run_at"] = scheduled.RunAt
	}
	reply["job"] = job // a nil *Job marshals as null
	if err != nil {
		reply["error"] = err.Error()
	}
	return reply
}

func doCommand(enq *work.Enqueuer, command []string) map[string]interface{} {
	if len(command) == 0 {
		return map[string]interface{}{"error": "harness: Do needs a command"}
	}
	conn := enq.Pool.Get()
	defer conn.Close()
	args := make([]interface{}, 0, len(command)-1)
	for _, a := range command[1:] {
		args = append(args, a)
	}
	reply, err := conn.Do(command[0], args...)
	if err != nil {
		return map[string]interface{}{"error": err.Error()}
	}
	return map[string]interface{}{"reply": reply}
}

func runEnqueueBench(pool *redis.Pool, ns string, n int, names string, argsJSON string, conc int) {
	enq := work.NewEnqueuer(ns, pool)
	list := strings.Split(names, ",")
	args, err := decodeObject([]byte(argsJSON), true)
	if err != nil {
		fail("enqueue -args: %v", err)
	}
	if conc < 1 {
		conc = 1
	}
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	start := time.Now()
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
	reply := map[string]interface{}{"count": n, "seconds": time.Since(start).Seconds()}
	if firstErr != nil {
		reply["error"] = firstErr.Error()
	}
	emit(reply)
}
