//go:build gowork_master

package main

// Built with -tags gowork_master against an upstream master checkout (a replace directive
// in go.mod pointing github.com/gocraft/work at it): master has the ByKey methods.

import "github.com/gocraft/work"

const upstreamVersion = "master"

func enqueueByKey(enq *work.Enqueuer, req enqueueRequest, args, key map[string]interface{}) (*work.Job, *work.ScheduledJob, bool, error) {
	if req.Method == "EnqueueUniqueInByKey" {
		scheduled, err := enq.EnqueueUniqueInByKey(req.Name, req.In, args, key)
		return nil, scheduled, true, err
	}
	job, err := enq.EnqueueUniqueByKey(req.Name, args, key)
	return job, nil, true, err
}
