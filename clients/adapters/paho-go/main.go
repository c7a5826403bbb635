// flatline-adapter-paho-go: N paho.mqtt.golang clients in one process
// (docs/clients.md), speaking flatline-swarm's interface: --config FILE (the
// swarm's JSON; fields the library has no equivalent for exit 2 naming the
// field), --events, --control fd:N, the swarm's event lines and exit codes.
//
// The library runs its own keep-alive goroutine (ping.go: a ticker every 5 s,
// or every K/2 when K <= 10 s; PINGREQ when K has passed since the last send
// or receive; "pingresp not received, disconnecting" once PingTimeout has
// passed since the ping) and its own reconnect (client.go reconnect: 1 s,
// doubled up to MaxReconnectInterval). Built offline in GOPATH mode over
// Debian's /usr/share/gocode (clients/adapters/CMakeLists.txt).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const (
	name       = "paho-go"
	fdOverhead = 64
	exitUsage  = 2
	exitMach   = 3
)

var refused = map[string]string{
	"strategy": "runs paho.mqtt.golang's own keep-alive rule (ping.go); tune it with keepalive and client_options.ping_timeout",
	"tcp":      "paho.mqtt.golang sets no TCP keep-alive or user timeout",
	"workload": "publishing is not mapped yet; the adapter's clients are idle",
	"sources":  "paho.mqtt.golang cannot bind a local address",
}

var groupKeys = map[string]bool{"name": true, "clients": true, "id_pattern": true, "version": true, "keepalive": true,
	"clean": true, "reconnect": true, "will": true, "role": true, "subscribe": true, "client": true,
	"client_options": true}

// client_options: name -> "seconds"
var options = map[string]string{"ping_timeout": "seconds", "connect_timeout": "seconds", "write_timeout": "seconds"}

type will struct {
	Topic   string `json:"topic"`
	Payload string `json:"payload"`
	Qos     int    `json:"qos"`
	Retain  bool   `json:"retain"`
}

type group struct {
	Name      string
	Clients   int
	IDPattern string
	Keepalive int
	Clean     bool
	Reconnect map[string]interface{}
	Will      *will
	Role      string
	Subscribe []string
	Options   map[string]float64
}

func monotonicNs() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Sec*1e9 + ts.Nsec
}

type usage struct{ msg string }

func (u usage) Error() string { return u.msg }

func fail(path, format string, a ...interface{}) { panic(usage{path + ": " + fmt.Sprintf(format, a...)}) }

func number(v interface{}, path string, lo, hi float64, integer bool) float64 {
	f, ok := v.(float64)
	if !ok {
		fail(path, "must be a number")
	}
	if integer && f != float64(int64(f)) {
		fail(path, "must be an integer")
	}
	if f < lo || f > hi {
		fail(path, "must be %g..%g", lo, hi)
	}
	return f
}

func checkPattern(p, path string, allowID bool) {
	names := map[string]bool{"n": true, "i": true, "group": true, "host": true, "pid": true, "id": allowID}
	for i := 0; i < len(p); i++ {
		if strings.HasPrefix(p[i:], "{{") || strings.HasPrefix(p[i:], "}}") {
			i++
			continue
		}
		if p[i] == '{' {
			j := strings.IndexByte(p[i:], '}')
			if j < 0 || !names[p[i+1:i+j]] {
				fail(path, "unknown placeholder in '%s'", p)
			}
			i += j
		}
	}
}

func expand(p string, v map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if strings.HasPrefix(p[i:], "{{") || strings.HasPrefix(p[i:], "}}") {
			b.WriteByte(p[i])
			i++
		} else if p[i] == '{' {
			j := strings.IndexByte(p[i:], '}')
			b.WriteString(v[p[i+1:i+j]])
			i += j
		} else {
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

func parseConfig(path string) (broker string, groups []group) {
	text, err := os.ReadFile(path)
	if err != nil {
		fail(path, "%v", err)
	}
	var cfg map[string]interface{}
	if err := json.Unmarshal(text, &cfg); err != nil {
		fail(path, "%v", err)
	}
	for k, v := range cfg {
		switch k {
		case "broker", "seed", "groups":
		case "sources":
			if a, _ := v.([]interface{}); len(a) > 0 {
				fail(k, "%s", refused["sources"])
			}
		case "inflight", "connect_rate", "connect_timeout":
			fail(k, "%s: the library connects each client on its own; there is no shared connect ramp", name)
		default:
			fail(k, "unknown field")
		}
	}
	broker, _ = cfg["broker"].(string)
	if _, _, err := net.SplitHostPort(broker); err != nil {
		fail("broker", "'%s' is not ADDR:PORT", broker)
	}
	gs, _ := cfg["groups"].([]interface{})
	if len(gs) == 0 {
		fail("groups", "must be a non-empty array")
	}
	for gi, gv := range gs {
		p := fmt.Sprintf("groups[%d]", gi)
		g, ok := gv.(map[string]interface{})
		if !ok {
			fail(p, "must be an object")
		}
		for k := range g {
			if why, bad := refused[k]; bad && k != "sources" {
				fail(p+"."+k, "%s %s", name, why)
			}
			if !groupKeys[k] {
				fail(p+"."+k, "unknown field")
			}
		}
		if c, ok := g["client"]; ok && c != name {
			fail(p+".client", "this program is the %s adapter", name)
		}
		if v, ok := g["version"]; ok && v != 4.0 {
			fail(p+".version", "%s runs MQTT 3.1.1 (4) only", name)
		}
		out := group{Name: p, IDPattern: "{host}-{pid}-{group}-{n}", Keepalive: 60, Clean: true, Role: "device",
			Options: map[string]float64{}}
		if v, ok := g["name"].(string); ok {
			out.Name = v
		}
		if _, ok := g["clients"]; !ok {
			fail(p+".clients", "required")
		}
		out.Clients = int(number(g["clients"], p+".clients", 0, 1e6, true))
		if v, ok := g["id_pattern"].(string); ok {
			out.IDPattern = v
		}
		checkPattern(out.IDPattern, p+".id_pattern", false)
		if v, ok := g["keepalive"]; ok {
			out.Keepalive = int(number(v, p+".keepalive", 0, 65535, true))
			// ping.go: a ticker of K/2 whole seconds for K <= 10; NewTicker panics on 0.
			if out.Keepalive == 1 {
				fail(p+".keepalive", "%s takes 0 or at least 2 s (ping.go: the check interval K/2 would be 0)", name)
			}
		}
		if v, ok := g["clean"].(bool); ok {
			out.Clean = v
		}
		if v, ok := g["role"].(string); ok {
			if v != "device" && v != "watcher" {
				fail(p+".role", "must be device or watcher")
			}
			out.Role = v
		}
		if out.Role == "watcher" {
			out.Subscribe = []string{"will/#"}
		}
		if v, ok := g["subscribe"].([]interface{}); ok {
			out.Subscribe = nil
			for si, s := range v {
				str, _ := s.(string)
				checkPattern(str, fmt.Sprintf("%s.subscribe[%d]", p, si), true)
				out.Subscribe = append(out.Subscribe, str)
			}
		}
		if v, ok := g["reconnect"].(map[string]interface{}); ok {
			k, _ := v["kind"].(string)
			if k != "none" && k != "fixed" && k != "backoff" {
				fail(p+".reconnect.kind", "must be none, fixed or backoff")
			}
			out.Reconnect = v
		}
		if v, ok := g["will"].(map[string]interface{}); ok {
			b, _ := json.Marshal(v)
			out.Will = &will{}
			json.Unmarshal(b, out.Will)
			checkPattern(out.Will.Topic, p+".will.topic", true)
			checkPattern(out.Will.Payload, p+".will.payload", true)
		}
		if v, ok := g["client_options"].(map[string]interface{}); ok {
			for k, ov := range v {
				if _, known := options[k]; !known {
					fail(p+".client_options."+k, "%s has no such option", name)
				}
				out.Options[k] = number(ov, p+".client_options."+k, 0, 1e9, false)
			}
		}
		groups = append(groups, out)
	}
	return
}

type adapter struct {
	mu                                         sync.Mutex
	out                                        *os.File
	total                                      int
	ever, connected, dead, reconnects, wills   int64
	readySent                                  int32
	stop                                       chan struct{}
	stopOnce                                   sync.Once
}

func (a *adapter) emit(t int64, ev string, fields ...interface{}) {
	if a.out == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"t":%d,"src":"swarm","ev":%q`, t, ev)
	for i := 0; i+1 < len(fields); i += 2 {
		v, _ := json.Marshal(fields[i+1])
		fmt.Fprintf(&b, `,%q:%s`, fields[i], v)
	}
	b.WriteString("}\n")
	a.mu.Lock()
	a.out.WriteString(b.String())
	a.mu.Unlock()
}

func (a *adapter) counters() {
	c := atomic.LoadInt64(&a.connected)
	a.emit(monotonicNs(), "counters", "clients", a.total, "connected", c, "connecting", int64(a.total)-c, "dead",
		atomic.LoadInt64(&a.dead), "reconnects", atomic.LoadInt64(&a.reconnects), "wills", atomic.LoadInt64(&a.wills),
		"library", name)
}

func (a *adapter) halt() { a.stopOnce.Do(func() { close(a.stop) }) }

type client struct {
	id, conn  string
	group     *group
	attempt   int
	connected bool
	ever      bool
	mu        sync.Mutex
}

// localAddr reads the client's unexported conn field: paho.mqtt.golang 1.1.1
// has no accessor and no dialer hook, and the runner joins both sides of a
// connection by the client's local address.
func localAddr(m mqtt.Client) string {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Ptr {
		return "?"
	}
	f := v.Elem().FieldByName("conn")
	if !f.IsValid() || !f.CanAddr() {
		return "?"
	}
	conn, ok := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(net.Conn)
	if !ok || conn == nil {
		return "?"
	}
	return conn.LocalAddr().String()
}

func openSpec(spec string, write bool) (*os.File, error) {
	if spec == "-" {
		return os.Stdout, nil
	}
	if strings.HasPrefix(spec, "fd:") {
		n, err := strconv.Atoi(spec[3:])
		if err != nil {
			return nil, err
		}
		f := os.NewFile(uintptr(n), spec)
		if _, err := f.Stat(); err != nil {
			return nil, err
		}
		return f, nil
	}
	if !write {
		return nil, fmt.Errorf("'%s' is not fd:N", spec)
	}
	return os.OpenFile(spec, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0644)
}

func run() int {
	fs := flag.NewFlagSet("flatline-adapter-"+name, flag.ContinueOnError)
	config := fs.String("config", "", "the swarm's configuration (docs/swarm.md)")
	events := fs.String("events", "", "FILE, - or fd:N")
	control := fs.String("control", "", "fd:N")
	brokerFlag := fs.String("broker", "", "ADDR:PORT")
	fs.String("seed", "", "accepted for the swarm's interface (the library's reconnect has no jitter)")
	fs.Bool("log-pings", false, "accepted; the library's debug log does not name the client, so no pingresp events")
	duration := fs.Float64("duration", 0, "stop after S seconds")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return exitUsage
	}
	var broker string
	var groups []group
	var out, ctl *os.File
	rc := func() (rc int) {
		defer func() {
			if r := recover(); r != nil {
				u, ok := r.(usage)
				if !ok {
					panic(r)
				}
				fmt.Fprintf(os.Stderr, "flatline-adapter-%s: %s\n", name, u.msg)
				rc = exitUsage
			}
		}()
		if *config == "" {
			fail("--config", "FILE is needed")
		}
		broker, groups = parseConfig(*config)
		if *brokerFlag != "" {
			broker = *brokerFlag
		}
		var err error
		if *events != "" {
			if out, err = openSpec(*events, true); err != nil {
				fail("--events", "%v", err)
			}
		}
		if *control != "" {
			if ctl, err = openSpec(*control, false); err != nil {
				fail("--control", "%v", err)
			}
		}
		return 0
	}()
	if rc != 0 {
		return rc
	}
	a := &adapter{out: out, stop: make(chan struct{})}
	for i := range groups {
		a.total += groups[i].Clients
	}
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	need := uint64(a.total + fdOverhead)
	if need > rl.Cur {
		raised := rl
		if need < rl.Max {
			raised.Cur = need
		} else {
			raised.Cur = rl.Max
		}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			rl = raised
		}
	}
	if need > rl.Cur {
		fmt.Fprintf(os.Stderr, "flatline-adapter-%s: %d clients + %d descriptors of overhead = %d > RLIMIT_NOFILE %d (hard %d); split the swarm: at most %d clients a process\n",
			name, a.total, fdOverhead, need, rl.Cur, rl.Max, rl.Cur-fdOverhead)
		return exitMach
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; a.halt() }()
	if ctl != nil {
		go func() {
			sc := bufio.NewScanner(ctl)
			for sc.Scan() {
				switch strings.TrimSpace(sc.Text()) {
				case "stop":
					a.halt()
				case "kill":
					os.Exit(0)
				case "counters":
					a.counters()
				}
			}
		}()
	}
	if *duration > 0 {
		go func() { time.Sleep(time.Duration(*duration * float64(time.Second))); a.halt() }()
	}
	host, _ := os.Hostname()
	pid := strconv.Itoa(os.Getpid())
	var all []mqtt.Client
	index := 0
	for gi := range groups {
		g := &groups[gi]
		for n := 0; n < g.Clients; n++ {
			vars := map[string]string{"n": strconv.Itoa(n), "i": strconv.Itoa(index), "group": g.Name, "host": host, "pid": pid}
			c := &client{id: expand(g.IDPattern, vars), conn: "?", group: g}
			vars["id"] = c.id
			o := mqtt.NewClientOptions().AddBroker("tcp://" + broker).SetClientID(c.id).SetCleanSession(g.Clean)
			o.SetProtocolVersion(4)
			o.SetKeepAlive(time.Duration(g.Keepalive) * time.Second)
			if v, ok := g.Options["ping_timeout"]; ok {
				o.SetPingTimeout(time.Duration(v * float64(time.Second)))
			}
			if v, ok := g.Options["connect_timeout"]; ok {
				o.SetConnectTimeout(time.Duration(v * float64(time.Second)))
			}
			if v, ok := g.Options["write_timeout"]; ok {
				o.SetWriteTimeout(time.Duration(v * float64(time.Second)))
			}
			kind, _ := g.Reconnect["kind"].(string)
			o.SetAutoReconnect(kind == "fixed" || kind == "backoff")
			if kind == "fixed" {
				d, _ := g.Reconnect["delay"].(float64)
				o.SetMaxReconnectInterval(time.Duration(d * float64(time.Second)))
			} else if kind == "backoff" {
				capS, ok := g.Reconnect["cap"].(float64)
				if !ok {
					capS = 30
				}
				o.SetMaxReconnectInterval(time.Duration(capS * float64(time.Second)))
			}
			if g.Will != nil {
				o.SetWill(expand(g.Will.Topic, vars), expand(g.Will.Payload, vars), byte(g.Will.Qos), g.Will.Retain)
			}
			o.SetOnConnectHandler(func(m mqtt.Client) {
				t := monotonicNs()
				c.conn = localAddr(m)
				c.mu.Lock()
				c.connected = true
				again := c.ever
				c.ever = true
				if again {
					c.attempt++
				}
				attempt := c.attempt
				c.mu.Unlock()
				atomic.AddInt64(&a.connected, 1)
				a.emit(t, "connected", "client_id", c.id, "conn", c.conn, "broker", broker, "keepalive", g.Keepalive,
					"group", g.Name, "attempt", attempt)
				if again {
					atomic.AddInt64(&a.reconnects, 1)
					a.emit(t, "reconnected", "client_id", c.id, "conn", c.conn, "attempt", attempt)
				} else if atomic.AddInt64(&a.ever, 1) == int64(a.total) && atomic.CompareAndSwapInt32(&a.readySent, 0, 1) {
					a.emit(t, "ready", "clients", a.total)
				}
				for _, s := range g.Subscribe {
					m.Subscribe(expand(s, vars), 1, nil)
				}
			})
			o.SetConnectionLostHandler(func(m mqtt.Client, err error) {
				t := monotonicNs()
				select {
				case <-a.stop:
					return
				default:
				}
				c.mu.Lock()
				was := c.connected
				c.connected = false
				c.mu.Unlock()
				if !was {
					return
				}
				atomic.AddInt64(&a.connected, -1)
				atomic.AddInt64(&a.dead, 1)
				text := fmt.Sprint(err)
				reason := "eof"
				switch {
				case strings.Contains(text, "pingresp not received"):
					reason = "ping_timeout"
				case strings.Contains(text, "reset"):
					reason = "reset"
				case strings.Contains(text, "timed out"):
					reason = "retransmit_timeout"
				}
				a.emit(t, "dead_detected", "client_id", c.id, "conn", c.conn, "reason", reason, "library_reason", text,
					"group", g.Name)
			})
			o.SetDefaultPublishHandler(func(m mqtt.Client, msg mqtt.Message) {
				if g.Role == "watcher" {
					atomic.AddInt64(&a.wills, 1)
					a.emit(monotonicNs(), "will_received", "client_id", c.id, "conn", c.conn, "group", g.Name,
						"whose", string(msg.Payload()), "topic", msg.Topic(), "retained", msg.Retained())
				}
			})
			m := mqtt.NewClient(o)
			all = append(all, m)
			go func() {
				// The first connect is not retried by the library (only a lost connection is).
				for {
					tok := m.Connect()
					tok.Wait()
					if tok.Error() == nil {
						return
					}
					select {
					case <-a.stop:
						return
					case <-time.After(time.Second):
					}
				}
			}()
			index++
		}
	}
	<-a.stop
	for _, m := range all {
		m.Disconnect(0)
	}
	a.counters()
	return 0
}

func main() { os.Exit(run()) }
