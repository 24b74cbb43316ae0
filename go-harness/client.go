package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gocraft/work"
	"github.com/gocraft/work/webui"
	"github.com/gomodule/redigo/redis"
)

type clientArgs struct {
	Page         uint   `json:"page"`
	DiedAt       int64  `json:"died_at"`
	JobID        string `json:"job_id"`
	ScheduledFor int64  `json:"scheduled_for"`
	RetryAt      int64  `json:"retry_at"`
}

func runClient(pool *redis.Pool, ns string, op string, argsText string) {
	var a clientArgs
	if err := json.Unmarshal([]byte(argsText), &a); err != nil {
		fail("args: %v", err)
	}
	c := work.NewClient(ns, pool)
	resp := map[string]interface{}{}
	var result interface{}
	var count int64
	var err error
	paged := false
	switch op {
	case "WorkerPoolHeartbeats":
		result, err = c.WorkerPoolHeartbeats()
	case "WorkerObservations":
		result, err = c.WorkerObservations()
	case "Queues":
		result, err = c.Queues()
	case "ScheduledJobs":
		result, count, err = c.ScheduledJobs(a.Page)
		paged = true
	case "RetryJobs":
		result, count, err = c.RetryJobs(a.Page)
		paged = true
	case "DeadJobs":
		result, count, err = c.DeadJobs(a.Page)
		paged = true
	case "RetryDeadJob":
		err = c.RetryDeadJob(a.DiedAt, a.JobID)
	case "DeleteDeadJob":
		err = c.DeleteDeadJob(a.DiedAt, a.JobID)
	case "RetryAllDeadJobs":
		err = c.RetryAllDeadJobs()
	case "DeleteAllDeadJobs":
		err = c.DeleteAllDeadJobs()
	case "DeleteScheduledJob":
		err = c.DeleteScheduledJob(a.ScheduledFor, a.JobID)
	case "DeleteRetryJob":
		err = c.DeleteRetryJob(a.RetryAt, a.JobID)
	default:
		fail("unknown client op %q", op)
	}
	resp["result"] = result
	if paged {
		resp["count"] = count
	}
	if err != nil {
		resp["error"] = err.Error()
	}
	emit(resp)
}

type jsonRequest struct {
	Op    string `json:"op"`
	Input string `json:"input"`
	NS    string `json:"ns"`
	Name  string `json:"name"`
}

func runJSON() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var req jsonRequest
		if err := json.Unmarshal(line, &req); err != nil {
			emit(map[string]string{"error": "bad request: " + err.Error()})
			continue
		}
		input, err := base64.StdEncoding.DecodeString(req.Input)
		if err != nil {
			emit(map[string]string{"error": "bad base64: " + err.Error()})
			continue
		}
		outBytes, err := jsonOp(req, input)
		if err != nil {
			emit(map[string]string{"error": err.Error()})
			continue
		}
		emit(map[string]string{"out": base64.StdEncoding.EncodeToString(outBytes)})
	}
}

func jsonOp(req jsonRequest, input []byte) ([]byte, error) {
	switch req.Op {
	case "marshal", "encode":
		var v interface{}
		if err := json.Unmarshal(input, &v); err != nil {
			return nil, err
		}
		if req.Op == "marshal" {
			return json.Marshal(v)
		}
		var buf bytes.Buffer
		err := json.NewEncoder(&buf).Encode(v)
		return buf.Bytes(), err
	case "job":
		var j work.Job
		if err := json.Unmarshal(input, &j); err != nil {
			return nil, err
		}
		return json.Marshal(&j)
	case "unique_key":
		var args map[string]interface{}
		if err := json.Unmarshal(input, &args); err != nil {
			return nil, err
		}
		// gocraft/work's key: namespace prefix, "unique:", name, ":" and the Encoder
		// output of the args (nothing for nil args). Written here because upstream's
		// function is unexported; real EnqueueUnique calls prove it in the tests.
		var buf bytes.Buffer
		prefix := req.NS
		if len(prefix) > 0 && prefix[len(prefix)-1] != ':' {
			prefix += ":"
		}
		buf.WriteString(prefix + "unique:" + req.Name + ":")
		if args != nil {
			if err := json.NewEncoder(&buf).Encode(args); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), nil
	}
	return nil, &json.UnsupportedValueError{Str: "unknown op " + req.Op}
}

func runWebUI(pool *redis.Pool, ns string, addr string) {
	server := webui.NewServer(ns, pool, addr)
	server.Start()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	emit(map[string]interface{}{"event": "listening", "addr": addr})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	server.Stop()
}
