// Command cronref answers cron questions with the real robfig/cron parsers, so the
// Python port in gowork_compat/cron.py can be checked against them.
//
// Input, one JSON object a line on stdin:
//
//	{"spec": "0 */5 * * * *", "dialect": "v0.5.1" | "master", "from": <unix seconds>, "tz": "<IANA name>", "count": n}
//
// Output, one JSON object a line on stdout (flushed after each line):
//
//	{"next": [unix seconds, ...]}  n successive Next results, stopping early at the zero time
//	{"error": "..."}               the parser's error (or "panic: ..." when it panics)
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	cronv1 "github.com/robfig/cron"
	cronv3 "github.com/robfig/cron/v3"
)

type request struct {
	Spec    string `json:"spec"`
	Dialect string `json:"dialect"`
	From    int64  `json:"from"`
	TZ      string `json:"tz"`
	Count   int    `json:"count"`
}

type nexter interface {
	Next(time.Time) time.Time
}

// the parser gocraft/work master builds in PeriodicallyEnqueue
var masterParser = cronv3.NewParser(
	cronv3.SecondOptional | cronv3.Minute | cronv3.Hour | cronv3.Dom | cronv3.Month | cronv3.Dow | cronv3.Descriptor,
)

func parse(spec, dialect string) (s nexter, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	switch dialect {
	case "v0.5.1", "":
		sched, err := cronv1.Parse(spec) // what gocraft/work v0.5.1 calls
		if err != nil {
			return nil, err
		}
		return sched, nil
	case "master":
		sched, err := masterParser.Parse(spec)
		if err != nil {
			return nil, err
		}
		return sched, nil
	}
	return nil, fmt.Errorf("unknown dialect %q", dialect)
}

func answer(req request) map[string]any {
	sched, err := parse(req.Spec, req.Dialect)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	loc, err := time.LoadLocation(req.TZ)
	if err != nil {
		return map[string]any{"error": "tz: " + err.Error()}
	}
	out := []int64{}
	t := time.Unix(req.From, 0).In(loc)
	for i := 0; i < req.Count; i++ {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t.Unix())
	}
	return map[string]any{"next": out}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		var req request
		var resp map[string]any
		if err := json.Unmarshal(line, &req); err != nil {
			resp = map[string]any{"error": "bad request: " + err.Error()}
		} else {
			resp = answer(req)
		}
		if err := enc.Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := w.Flush(); err != nil {
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
