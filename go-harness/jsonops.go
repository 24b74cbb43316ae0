package main

// json: Go's encoding/json on given bytes, no Redis. One request line on stdin, one reply.
//
// Request: {"op": "marshal"|"encode"|"job"|"unique_key"|"args", "input": base64 of JSON text,
//           "ns": str, "name": str (unique_key), "args_int": bool (not for job, args),
//           "calls": [[accessor, key], ...] (args)}
// Reply:   {"out": base64 of the bytes} or {"error": str}
//
//	marshal     json.Unmarshal into interface{}, then json.Marshal
//	encode      the same decoding, then json.Encoder.Encode (trailing newline included)
//	job         json.Unmarshal into work.Job, then json.Marshal(&job)
//	unique_key  input is the args object or null; the key gocraft/work v0.5.1 computes for
//	            EnqueueUnique: namespace prefix + "unique:" + name + ":" + Encoder output of
//	            the args (nothing after the colon for nil args). Upstream's function is
//	            unexported, so this is a restatement; the interop tests check it against
//	            real EnqueueUnique calls.
//	args        json.Unmarshal into work.Job, then the typed accessors in order on that one
//	            job: accessor "int" (ArgInt64), "float" (ArgFloat64), "string" (ArgString) or
//	            "bool" (ArgBool); out is a JSON array, per call {"value": the result (for
//	            "float" the IEEE bits as an unsigned integer, so -0 and every digit survive),
//	            "error": ArgError() text after the call, or null}.
//
// With "args_int", numbers are decoded as in the enqueue subcommand's args_int (int64 when
// integral), which is how values a Go service built from ints are encoded.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"

	"github.com/gocraft/work"
)

type jsonRequest struct {
	Op      string      `json:"op"`
	Input   string      `json:"input"`
	NS      string      `json:"ns"`
	Name    string      `json:"name"`
	ArgsInt bool        `json:"args_int"`
	Calls   [][2]string `json:"calls"`
}

func runJSON() {
	sc := newLineScanner()
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		out, err := jsonOne(line)
		if err != nil {
			emit(map[string]string{"error": err.Error()})
			continue
		}
		emit(map[string]string{"out": base64.StdEncoding.EncodeToString(out)})
	}
	if err := sc.Err(); err != nil {
		fail("json: reading stdin: %v", err)
	}
}

func jsonOne(line []byte) ([]byte, error) {
	var req jsonRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return nil, fmt.Errorf("harness: bad request: %v", err)
	}
	input, err := base64.StdEncoding.DecodeString(req.Input)
	if err != nil {
		return nil, fmt.Errorf("harness: bad base64: %v", err)
	}
	switch req.Op {
	case "marshal", "encode":
		v, err := decodeValue(input, req.ArgsInt)
		if err != nil {
			return nil, err
		}
		if req.Op == "marshal" {
			return json.Marshal(v)
		}
		var buf bytes.Buffer
		err = json.NewEncoder(&buf).Encode(v)
		return buf.Bytes(), err
	case "job":
		var j work.Job
		if err := json.Unmarshal(input, &j); err != nil {
			return nil, err
		}
		return json.Marshal(&j)
	case "args":
		var j work.Job
		if err := json.Unmarshal(input, &j); err != nil {
			return nil, err
		}
		return json.Marshal(argCalls(&j, req.Calls))
	case "unique_key":
		var args map[string]interface{}
		if req.ArgsInt {
			args, err = decodeObject(input, true)
		} else {
			err = json.Unmarshal(input, &args)
		}
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		buf.WriteString(namespacePrefix(req.NS) + "unique:" + req.Name + ":")
		if args != nil {
			if err := json.NewEncoder(&buf).Encode(args); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("harness: unknown op %q", req.Op)
}

func argCalls(j *work.Job, calls [][2]string) []map[string]interface{} {
	res := make([]map[string]interface{}, 0, len(calls))
	for _, c := range calls {
		r := map[string]interface{}{}
		switch c[0] {
		case "int":
			r["value"] = j.ArgInt64(c[1])
		case "float":
			r["value"] = math.Float64bits(j.ArgFloat64(c[1]))
		case "string":
			r["value"] = j.ArgString(c[1])
		case "bool":
			r["value"] = j.ArgBool(c[1])
		default:
			r["value"] = nil
			r["unknown"] = c[0]
		}
		r["error"] = nil
		if err := j.ArgError(); err != nil {
			r["error"] = err.Error()
		}
		res = append(res, r)
	}
	return res
}

// decodeValue decodes any JSON value: plain json.Unmarshal, or with asInt UseNumber and
// int64 for integral numbers. Trailing data after the value is an error either way.
func decodeValue(input []byte, asInt bool) (interface{}, error) {
	var v interface{}
	if !asInt {
		err := json.Unmarshal(input, &v)
		return v, err
	}
	if err := json.Unmarshal(input, &v); err != nil { // same validation and errors as the plain path
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return convertNumbers(v), nil
}
