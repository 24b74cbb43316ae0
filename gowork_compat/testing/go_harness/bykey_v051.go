//go:build !gowork_master

package main

import "github.com/gocraft/work"

// upstreamVersion names the gocraft/work this build is linked against (see go.mod).
const upstreamVersion = "v0.5.1"

// enqueueByKey runs the ByKey enqueue methods. gocraft/work v0.5.1 has none, so it only
// reports them unsupported; bykey_master.go (build tag gowork_master) is the build for an
// upstream that has them.
func enqueueByKey(_ *work.Enqueuer, _ enqueueRequest, _, _ map[string]interface{}) (*work.Job, *work.ScheduledJob, bool, error) {
	return nil, nil, false, nil
}
