package main

// client: one work.Client call, one reply line, exit 0 (exit 1 only for a usage error).
//
//	-op WorkerPoolHeartbeats | WorkerObservations | Queues
//	    ScheduledJobs | RetryJobs | DeadJobs            -args {"page": int}
//	    RetryDeadJob | DeleteDeadJob                    -args {"died_at": int, "job_id": str}
//	    RetryAllDeadJobs | DeleteAllDeadJobs
//	    DeleteScheduledJob                              -args {"scheduled_for": int, "job_id": str}
//	    DeleteRetryJob                                  -args {"retry_at": int, "job_id": str}
//
// Reply: {"result": <what the call returned, json.Marshal'ed: nil slices are null; null for
// calls returning only an error>, "count": int (paged views only), "error": str (when err != nil)}

import (
	"encoding/json"

	"github.com/gocraft/work"
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
	if argsText != "" {
		if err := json.Unmarshal([]byte(argsText), &a); err != nil {
			fail("client -args: %v", err)
		}
	}
	c := work.NewClient(ns, pool)
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
		fail("client: unknown -op %q", op)
	}
	reply := map[string]interface{}{"result": result}
	if paged {
		reply["count"] = count
	}
	if err != nil {
		reply["error"] = err.Error()
	}
	emit(reply)
}
