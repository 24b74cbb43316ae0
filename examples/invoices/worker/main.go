// Command invoices-worker is a tiny gocraft/work worker: it handles send_invoice jobs and
// checks their args strictly, failing the job on anything it does not expect (a missing or
// extra key, a wrong type, a number that is not a whole number, a value out of range).
//
// Configuration by environment: REDIS_ADDR (host:port, default 127.0.0.1:6379) and
// WORK_NAMESPACE (default "invoices"). SIGTERM or SIGINT stops the pool gracefully.
package main

import (
	"fmt"
	"log"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
)

type Context struct{}

var currencies = map[string]bool{"EUR": true, "USD": true, "GBP": true}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	addr := env("REDIS_ADDR", "127.0.0.1:6379")
	ns := env("WORK_NAMESPACE", "invoices")
	pool := &redis.Pool{
		MaxActive: 20,
		MaxIdle:   20,
		Wait:      true,
		Dial:      func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
	}
	wp := work.NewWorkerPool(Context{}, 10, ns, pool)
	wp.Job("send_invoice", (*Context).SendInvoice)
	wp.Start()
	log.Printf("invoices worker: namespace %q on %s", ns, addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	wp.Stop()
}

// SendInvoice would render and mail the invoice; here it only checks the args.
func (c *Context) SendInvoice(job *work.Job) error {
	return checkInvoice(job.Args)
}

func checkInvoice(args map[string]interface{}) error {
	allowed := map[string]bool{"invoice_id": true, "customer": true, "amount_cents": true, "currency": true,
		"lines": true, "due_days": true, "tags": true}
	for k := range args {
		if !allowed[k] {
			return fmt.Errorf("%s: unexpected key", k)
		}
	}
	id, ok := args["invoice_id"].(string)
	if !ok || len(id) != 10 || !strings.HasPrefix(id, "INV-") || !digits(id[4:]) {
		return fmt.Errorf("invoice_id: want INV- and 6 digits, got %#v", args["invoice_id"])
	}
	if err := checkCustomer(args["customer"]); err != nil {
		return err
	}
	if err := wholeNumber("amount_cents", args["amount_cents"], true, 0, 1e9); err != nil {
		return err
	}
	cur, ok := args["currency"].(string)
	if !ok || !currencies[cur] {
		return fmt.Errorf("currency: want EUR, USD or GBP, got %#v", args["currency"])
	}
	lines, ok := args["lines"].([]interface{})
	if !ok || len(lines) < 1 || len(lines) > 5 {
		return fmt.Errorf("lines: want a list of 1 to 5 lines, got %#v", args["lines"])
	}
	for i, l := range lines {
		if err := checkLine(i, l); err != nil {
			return err
		}
	}
	if err := wholeNumber("due_days", args["due_days"], false, 0, 365); err != nil {
		return err
	}
	if t, present := args["tags"]; present {
		tags, ok := t.([]interface{})
		if !ok || len(tags) > 5 {
			return fmt.Errorf("tags: want a list of at most 5 strings, got %#v", t)
		}
		for i, tag := range tags {
			if _, ok := tag.(string); !ok {
				return fmt.Errorf("tags/%d: not a string: %#v", i, tag)
			}
		}
	}
	return nil
}

func checkCustomer(v interface{}) error {
	c, ok := v.(map[string]interface{})
	if !ok {
		return fmt.Errorf("customer: want an object, got %#v", v)
	}
	for k := range c {
		if k != "id" && k != "email" {
			return fmt.Errorf("customer/%s: unexpected key", k)
		}
	}
	if err := wholeNumber("customer/id", c["id"], true, 1, 1e12); err != nil {
		return err
	}
	email, ok := c["email"].(string)
	at := strings.Index(email, "@")
	if !ok || strings.Count(email, "@") != 1 || at == 0 || at == len(email)-1 || strings.Contains(email, " ") {
		return fmt.Errorf("customer/email: not an address: %#v", c["email"])
	}
	return nil
}

func checkLine(i int, v interface{}) error {
	l, ok := v.(map[string]interface{})
	if !ok {
		return fmt.Errorf("lines/%d: want an object, got %#v", i, v)
	}
	for k := range l {
		if k != "sku" && k != "qty" && k != "note" {
			return fmt.Errorf("lines/%d/%s: unexpected key", i, k)
		}
	}
	sku, ok := l["sku"].(string)
	if n := utf8.RuneCountInString(sku); !ok || n < 1 || n > 32 {
		return fmt.Errorf("lines/%d/sku: want 1 to 32 characters, got %#v", i, l["sku"])
	}
	if err := wholeNumber(fmt.Sprintf("lines/%d/qty", i), l["qty"], true, 1, 1000); err != nil {
		return err
	}
	if note, present := l["note"]; present {
		if _, ok := note.(string); !ok {
			return fmt.Errorf("lines/%d/note: not a string: %#v", i, note)
		}
	}
	return nil
}

// wholeNumber: gocraft/work decodes every JSON number as a float64.
func wholeNumber(what string, v interface{}, required bool, lo, hi float64) error {
	if v == nil && !required {
		return nil
	}
	f, ok := v.(float64)
	if !ok {
		return fmt.Errorf("%s: want a number, got %#v", what, v)
	}
	if f != math.Trunc(f) {
		return fmt.Errorf("%s: not an integer: %v", what, f)
	}
	if f < lo || f > hi {
		return fmt.Errorf("%s: %v out of range [%v, %v]", what, f, lo, hi)
	}
	return nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
