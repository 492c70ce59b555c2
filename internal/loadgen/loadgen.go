// Package loadgen drives whole passkey ceremonies (begin and finish of
// registration, named and usernameless login, and list-devices) against
// running handlers, with software authenticators (internal/softauthn), at
// a set concurrency and rate for a bounded time and count. It keeps what
// every virtual user registered so that a run can be checked afterwards:
// every passkey still signs in, device counts are exact, and no used
// session can be used again. It only talks to loopback addresses.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passkeys-b2c/passkeys/internal/softauthn"
)

// Ceremony kinds.
const (
	Register     = "register"
	Login        = "login"
	Usernameless = "usernameless"
	List         = "list"
)

// Kinds lists the ceremony kinds in the order a Mix names them.
var Kinds = []string{Register, Login, Usernameless, List}

// Limits that bound every run, whatever it is configured with.
const (
	MaxDuration    = 2 * time.Hour
	MaxCeremonies  = 10_000_000
	MaxConcurrency = 1024
)

// Config is one run.
type Config struct {
	// Targets are handler base URLs (http://127.0.0.1:7071); a ceremony
	// begins on one and finishes on the next, round robin, so several
	// handlers on one store share each ceremony.
	Targets []string
	// Origin is the WebAuthn origin of the authenticators; it must be
	// among the handlers' PASSKEY_RP_ORIGINS. Default: http://localhost:PORT
	// of the first target.
	Origin string
	// APIKey is sent as x-functions-key when set.
	APIKey string
	// Concurrency is the number of ceremonies in flight (default 4).
	Concurrency int
	// Rate is ceremonies started per second; 0 starts them as fast as the
	// workers allow.
	Rate float64
	// Duration and Ceremonies bound the run: it stops at whichever comes
	// first (defaults 10 s and MaxCeremonies).
	Duration   time.Duration
	Ceremonies int
	// Mix weighs the ceremony kinds (default: 1 register, 6 login,
	// 2 usernameless, 1 list).
	Mix map[string]int
	// Users is the number of virtual users (default 64); each has its own
	// authenticator and runs one ceremony at a time.
	Users int
	// UserPrefix starts every objectId, so runs on one store do not mix
	// (default: a random one).
	UserPrefix string
	// DeviceLimit is the handlers' PASSKEY_DEVICE_LIMIT; a user at the
	// limit logs in instead of registering (default 10).
	DeviceLimit int
	// RetryUnavailable retries a finish answered 503 with the identical
	// body, as B2C does, until RetryFor has passed; its outcome decides the
	// ceremony. Begins answered 503 are not retried.
	RetryUnavailable bool
	RetryFor         time.Duration
	// Timeout bounds each request (default 15 s).
	Timeout time.Duration
}

// Runner runs ceremonies and remembers the users it made.
type Runner struct {
	cfg    Config
	client *http.Client
	users  []*User
	next   atomic.Uint64
	kinds  []string // Mix expanded

	mu      sync.Mutex
	latency map[string][]time.Duration // per function
	errors  map[string]int             // "function status code"
	done    map[string]int             // ceremonies completed per kind
	failed  map[string]int
	// sessions are finished ceremonies, kept to check later that none can
	// be used again.
	sessions []usedSession
	retries  int
}

// User is one virtual user with the passkeys the handlers confirmed. Each
// passkey lives on a device (authenticator) of its own, as a browser
// refuses a second passkey for the same account on one authenticator.
type User struct {
	ObjectID string
	mu       sync.Mutex
	// Credentials are the ids (base64url) of confirmed registrations, in
	// order; Devices[i] holds Credentials[i].
	Credentials []string
	Devices     []*softauthn.Authenticator
}

// device returns a random device of the user.
func (u *User) device() *softauthn.Authenticator { return u.Devices[rand.IntN(len(u.Devices))] }

type usedSession struct {
	user    *User
	device  *softauthn.Authenticator
	kind    string
	options string
}

// Result is what a run measured.
type Result struct {
	Elapsed    time.Duration
	Ceremonies map[string]int // completed, per kind
	Failed     map[string]int // per kind
	Latency    map[string]Percentiles
	Errors     map[string]int // "function status code" -> count
	Retries    int
}

// Total is the number of ceremonies completed.
func (r *Result) Total() int {
	n := 0
	for _, v := range r.Ceremonies {
		n += v
	}
	return n
}

// ErrorCount is the number of answers that were not 200.
func (r *Result) ErrorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Percentiles of one function's latency.
type Percentiles struct {
	Count              int
	P50, P95, P99, Max time.Duration
}

// New checks the configuration (loopback targets only) and returns a
// Runner with its virtual users, none registered yet.
func New(cfg Config) (*Runner, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("no target")
	}
	for i, t := range cfg.Targets {
		u, err := url.Parse(strings.TrimRight(t, "/"))
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("target %q is not an http URL", t)
		}
		if !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("target %q is not a loopback address (127.0.0.0/8, ::1, localhost): load goes to this machine only", t)
		}
		cfg.Targets[i] = u.String()
	}
	if cfg.Origin == "" {
		u, _ := url.Parse(cfg.Targets[0])
		cfg.Origin = "http://localhost:" + u.Port()
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	cfg.Concurrency = min(cfg.Concurrency, MaxConcurrency)
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	cfg.Duration = min(cfg.Duration, MaxDuration)
	if cfg.Ceremonies <= 0 || cfg.Ceremonies > MaxCeremonies {
		cfg.Ceremonies = MaxCeremonies
	}
	if cfg.Mix == nil {
		cfg.Mix = map[string]int{Register: 1, Login: 6, Usernameless: 2, List: 1}
	}
	if cfg.Users <= 0 {
		cfg.Users = 64
	}
	if cfg.UserPrefix == "" {
		cfg.UserPrefix = fmt.Sprintf("load-%08x", rand.Uint32())
	}
	if cfg.DeviceLimit <= 0 {
		cfg.DeviceLimit = 10
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = 60 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	r := &Runner{
		cfg:     cfg,
		latency: map[string][]time.Duration{},
		errors:  map[string]int{},
		done:    map[string]int{},
		failed:  map[string]int{},
	}
	for _, k := range Kinds {
		for range cfg.Mix[k] {
			r.kinds = append(r.kinds, k)
		}
	}
	for k := range cfg.Mix {
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("unknown ceremony %q in the mix (known: %s)", k, strings.Join(Kinds, ", "))
		}
	}
	if len(r.kinds) == 0 {
		return nil, errors.New("the mix has no ceremony")
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	r.client = &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			// Refuse, at connect time too, any address off this machine.
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
				if err != nil {
					return nil, err
				}
				for _, ip := range ips {
					if !ip.IP.IsLoopback() {
						return nil, fmt.Errorf("%s resolves to %s, not a loopback address", host, ip.IP)
					}
				}
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: cfg.Concurrency + 8,
			MaxIdleConns:        (cfg.Concurrency + 8) * len(cfg.Targets),
		},
	}
	if _, err := softauthn.New(cfg.Origin); err != nil {
		return nil, err
	}
	for i := range cfg.Users {
		r.users = append(r.users, &User{ObjectID: fmt.Sprintf("%s-%04d", cfg.UserPrefix, i)})
	}
	return r, nil
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Users returns the virtual users.
func (r *Runner) Users() []*User { return r.users }

// Config returns the configuration in force (defaults filled in).
func (r *Runner) Config() Config { return r.cfg }

// Prepare registers one passkey for every user that has none, with the
// run's concurrency, outside the measured run.
func (r *Runner) Prepare(ctx context.Context) error {
	sem := make(chan struct{}, r.cfg.Concurrency)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, u := range r.users {
		if len(u.Credentials) > 0 {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			u.mu.Lock()
			defer u.mu.Unlock()
			if err := r.register(ctx, u, nil); err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, fmt.Errorf("registering %s: %w", u.ObjectID, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.reset()
	return firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// reset forgets the figures (not the users or their passkeys).
func (r *Runner) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency = map[string][]time.Duration{}
	r.errors = map[string]int{}
	r.done = map[string]int{}
	r.failed = map[string]int{}
	r.retries = 0
}

// Run runs ceremonies until the duration or the count is reached, or ctx
// ends, and returns the figures of this run.
func (r *Runner) Run(ctx context.Context) *Result {
	r.reset()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	var started atomic.Int64
	var tokens <-chan struct{}
	if r.cfg.Rate > 0 {
		tokens = pace(ctx, r.cfg.Rate, r.cfg.Concurrency)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if tokens != nil {
					select {
					case <-ctx.Done():
						return
					case _, ok := <-tokens:
						if !ok {
							return
						}
					}
				}
				if ctx.Err() != nil || started.Add(1) > int64(r.cfg.Ceremonies) {
					return
				}
				r.one(context.WithoutCancel(ctx))
			}
		}()
	}
	wg.Wait()
	return r.result(time.Since(start))
}

// pace sends a token rate times per second until ctx ends.
func pace(ctx context.Context, rate float64, burst int) <-chan struct{} {
	out := make(chan struct{}, burst)
	go func() {
		defer close(out)
		interval := time.Duration(float64(time.Second) / rate)
		next := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(next)):
			}
			select {
			case out <- struct{}{}:
			case <-ctx.Done():
				return
			}
			next = next.Add(interval)
		}
	}()
	return out
}

// one runs one ceremony for a random user.
func (r *Runner) one(ctx context.Context) {
	u := r.users[rand.IntN(len(r.users))]
	u.mu.Lock()
	defer u.mu.Unlock()
	kind := r.kinds[rand.IntN(len(r.kinds))]
	if kind == Register && len(u.Credentials) >= r.cfg.DeviceLimit {
		kind = Login
	}
	if kind != Register && len(u.Credentials) == 0 {
		kind = Register
	}
	var err error
	switch kind {
	case Register:
		err = r.register(ctx, u, nil)
	case Login:
		err = r.login(ctx, u, true, nil, nil)
	case Usernameless:
		err = r.login(ctx, u, false, nil, nil)
	case List:
		err = r.list(ctx, u)
	}
	r.mu.Lock()
	if err != nil {
		r.failed[kind]++
	} else {
		r.done[kind]++
	}
	r.mu.Unlock()
}

// StatusError is an answer other than 200.
type StatusError struct {
	Function string
	Status   int
	Code     string
	Body     string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Function, e.Status, e.Code)
}

// target picks the handler for the next request.
func (r *Runner) target() string {
	return r.cfg.Targets[int(r.next.Add(1))%len(r.cfg.Targets)]
}

// Post sends claims to a function on the next target and decodes the
// answer; it records the latency and any error under the function.
func (r *Runner) Post(ctx context.Context, function string, claims map[string]string) (map[string]any, error) {
	body, _ := json.Marshal(claims)
	return r.post(ctx, function, body, false)
}

func (r *Runner) post(ctx context.Context, function string, body []byte, finish bool) (map[string]any, error) {
	deadline := time.Now().Add(r.cfg.RetryFor)
	for attempt := 0; ; attempt++ {
		out, err := r.send(ctx, function, body)
		var se *StatusError
		if finish && r.cfg.RetryUnavailable && errors.As(err, &se) && se.Status == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			r.mu.Lock()
			r.retries++
			r.mu.Unlock()
			time.Sleep(min(100*time.Millisecond<<min(attempt, 4), time.Second))
			continue
		}
		return out, err
	}
}

func (r *Runner) send(ctx context.Context, function string, body []byte) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target()+"/api/"+function, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.APIKey != "" {
		req.Header.Set("x-functions-key", r.cfg.APIKey)
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	elapsed := time.Since(start)
	if err != nil {
		r.record(function, elapsed, "transport")
		return nil, fmt.Errorf("%s: %w", function, err)
	}
	var out map[string]any
	if jerr := json.Unmarshal(raw, &out); jerr != nil {
		r.record(function, elapsed, fmt.Sprintf("%d not-json", resp.StatusCode))
		return nil, &StatusError{Function: function, Status: resp.StatusCode, Code: "not-json", Body: string(raw)}
	}
	if resp.StatusCode != http.StatusOK {
		code, _ := out["code"].(string)
		if !errorShape(out, resp.StatusCode) {
			code = "not-in-contract-shape"
		}
		r.record(function, elapsed, fmt.Sprintf("%d %s", resp.StatusCode, code))
		return out, &StatusError{Function: function, Status: resp.StatusCode, Code: code, Body: string(raw)}
	}
	r.record(function, elapsed, "")
	return out, nil
}

// errorShape reports whether an error body has the contract's fields, with
// the HTTP status repeated in status.
func errorShape(body map[string]any, status int) bool {
	for _, k := range []string{"version", "code", "userMessage", "developerMessage", "requestId"} {
		if s, ok := body[k].(string); !ok || s == "" {
			return false
		}
	}
	return number(body["status"]) == status
}

func (r *Runner) record(function string, d time.Duration, errKey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if errKey == "" {
		r.latency[function] = append(r.latency[function], d)
		return
	}
	r.errors[function+" "+errKey]++
}

// register runs register-begin and register-finish for u (whose lock the
// caller holds) and records the new passkey.
func (r *Runner) register(ctx context.Context, u *User, opts []softauthn.CeremonyOption) error {
	begin, err := r.Post(ctx, "register-begin", map[string]string{"objectId": u.ObjectID, "userName": u.ObjectID + "@example.com"})
	if err != nil {
		return err
	}
	options, _ := begin["options"].(string)
	if got := number(begin["deviceCount"]); got != len(u.Credentials) {
		return r.mismatch("register-begin", "deviceCount %d, want %d", got, len(u.Credentials))
	}
	device, _ := softauthn.New(r.cfg.Origin)
	cred, err := device.Register(options, opts...)
	if err != nil {
		return r.authenticatorFailed("register-begin", err)
	}
	body, _ := json.Marshal(map[string]string{"objectId": u.ObjectID, "credential": cred})
	finish, err := r.post(ctx, "register-finish", body, true)
	if err != nil {
		return err
	}
	id, _ := finish["credentialId"].(string)
	u.Credentials = append(u.Credentials, id)
	u.Devices = append(u.Devices, device)
	if got := number(finish["deviceCount"]); got != len(u.Credentials) {
		return r.mismatch("register-finish", "deviceCount %d, want %d", got, len(u.Credentials))
	}
	r.remember(u, device, Register, options)
	return nil
}

// login runs a named or usernameless login for u on one of its devices
// (a random one when device is nil).
func (r *Runner) login(ctx context.Context, u *User, named bool, device *softauthn.Authenticator, opts []softauthn.CeremonyOption) error {
	if device == nil {
		device = u.device()
	}
	claims := map[string]string{}
	if named {
		claims["objectId"] = u.ObjectID
	}
	begin, err := r.Post(ctx, "login-begin", claims)
	if err != nil {
		return err
	}
	options, _ := begin["options"].(string)
	if named {
		if got := number(begin["deviceCount"]); got != len(u.Credentials) {
			return r.mismatch("login-begin", "deviceCount %d, want %d", got, len(u.Credentials))
		}
	}
	cred, err := device.Login(options, opts...)
	if err != nil {
		return r.authenticatorFailed("login-begin", err)
	}
	claims["credential"] = cred
	body, _ := json.Marshal(claims)
	finish, err := r.post(ctx, "login-finish", body, true)
	if err != nil {
		return err
	}
	if got, _ := finish["objectId"].(string); got != u.ObjectID {
		return r.mismatch("login-finish", "objectId %q, want %q", got, u.ObjectID)
	}
	kind := Usernameless
	if named {
		kind = Login
	}
	r.remember(u, device, kind, options)
	return nil
}

// list runs list-devices for u and compares the passkeys with what the
// runner registered.
func (r *Runner) list(ctx context.Context, u *User) error {
	out, err := r.Post(ctx, "list-devices", map[string]string{"objectId": u.ObjectID})
	if err != nil {
		return err
	}
	if got := number(out["deviceCount"]); got != len(u.Credentials) {
		return r.mismatch("list-devices", "deviceCount %d, want %d", got, len(u.Credentials))
	}
	return nil
}

// authenticatorFailed records options the authenticator refused.
func (r *Runner) authenticatorFailed(function string, err error) error {
	r.mu.Lock()
	r.errors[function+" 200 options-refused-by-authenticator"]++
	r.mu.Unlock()
	return fmt.Errorf("authenticator: %w", err)
}

// mismatch records an answer that was 200 but wrong.
func (r *Runner) mismatch(function, format string, args ...any) error {
	r.mu.Lock()
	r.errors[function+" 200 mismatch"]++
	r.mu.Unlock()
	return fmt.Errorf("%s: "+format, append([]any{function}, args...)...)
}

func (r *Runner) remember(u *User, device *softauthn.Authenticator, kind, options string) {
	r.mu.Lock()
	r.sessions = append(r.sessions, usedSession{user: u, device: device, kind: kind, options: options})
	r.mu.Unlock()
}

func number(v any) int {
	f, ok := v.(float64)
	if !ok {
		return -1
	}
	return int(f)
}

func (r *Runner) result(elapsed time.Duration) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{
		Elapsed:    elapsed,
		Ceremonies: maps(r.done),
		Failed:     maps(r.failed),
		Latency:    map[string]Percentiles{},
		Errors:     maps(r.errors),
		Retries:    r.retries,
	}
	for fn, ds := range r.latency {
		res.Latency[fn] = percentiles(ds)
	}
	return res
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func percentiles(ds []time.Duration) Percentiles {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		i := int(q*float64(len(s))+0.5) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Percentiles{Count: len(s), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: at(1)}
}

// ParseMix reads a mix of ceremony kinds written as "register=1,login=6"
// (a kind without a weight counts once).
func ParseMix(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			weight = "1"
		}
		n, err := strconv.Atoi(weight)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-mix: %q is not name=weight", part)
		}
		out[name] = n
	}
	return out, nil
}
