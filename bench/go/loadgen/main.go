// Command loadgen drives a websocket chat hard enough to measure it: compiled, so that the server, not the
// generator, is what saturates. It speaks two protocols: "app" (this repository's chat: join, then JSON
// messages, one per frame) and "gorilla" (gorilla/websocket's examples/chat: raw text, several messages
// per frame separated by newlines). It always counts messages, never frames.
//
// Modes (one JSON object on stdout per result):
//
//	-mode loop:  closed loop; every client sends its next message when its previous one has reached every
//	             client (not merely come back to its sender: see window below). Reports deliveries/s over
//	             -seconds (after -warmup), the p50/p99 delivery latency (each message carries its send time;
//	             every delivery is one sample), the bytes received per delivery and the clients the server
//	             disconnected (any is an invalid run).
//	-mode idle:  -clients connect (and join) at once: reports the time until the last one is in; then holds
//	             them idle for -hold seconds (the caller measures the server's memory), then times
//	             -broadcasts single messages from one extra client until every idle client has it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/bits"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

var (
	url        = flag.String("url", "ws://127.0.0.1:8000/ws", "websocket URL")
	proto      = flag.String("proto", "app", "app or gorilla")
	mode       = flag.String("mode", "loop", "loop or idle")
	clients    = flag.Int("clients", 50, "connections")
	seconds    = flag.Float64("seconds", 4, "loop: measured seconds")
	warmup     = flag.Float64("warmup", 1, "loop: seconds before measuring")
	hold       = flag.Float64("hold", 2, "idle: seconds to hold the idle clients before the broadcasts")
	broadcasts = flag.Int("broadcasts", 5, "idle: single broadcasts to time")
	origin     = flag.String("origin", "", "Origin header (app: the server's own)")
)

var start = time.Now()

func nowNs() int64 { return int64(time.Since(start)) }

// histogram of latencies in microseconds, log-linear (16 steps per power of two: within ~6 %), small
// enough for one per client so readers never share a counter.
type histogram struct{ counts [64 * 16]uint64 }

func newHistogram() *histogram { return &histogram{} }

func bucketOf(us uint64) int {
	if us < 16 {
		return int(us)
	}
	shift := bits.Len64(us) - 5 // keep the top 5 bits: 1xxxx
	return (shift+1)*16 + int((us>>shift)&15)
}

func lowerBound(bucket int) float64 {
	if bucket < 16 {
		return float64(bucket)
	}
	shift := bucket/16 - 1
	return float64(uint64(16+bucket%16) << shift)
}

func (h *histogram) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketOf(uint64(ns/1000))]++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// quantile in milliseconds.
func (h *histogram) quantile(q float64) float64 {
	var total uint64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > want {
			return lowerBound(i) / 1000
		}
	}
	return 0
}

func dial(i int) *websocket.Conn {
	header := http.Header{}
	if *origin != "" {
		header.Set("Origin", *origin)
	}
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 65536, WriteBufferSize: 4096}
	for attempt := 0; ; attempt++ {
		conn, _, err := dialer.Dial(*url, header)
		if err == nil {
			return conn
		}
		if attempt == 20 {
			fail("client %d cannot connect: %v", i, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(1)
}

// join sends the app's join and waits for the welcome (presence frames may come first).
func join(conn *websocket.Conn, name string) {
	if *proto != "app" {
		return
	}
	msg, _ := json.Marshal(map[string]string{"type": "join", "name": name})
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		fail("join: %v", err)
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			fail("waiting for welcome: %v", err)
		}
		if bytes.HasPrefix(data, []byte(`{"type":"welcome"`)) {
			return
		}
		if bytes.HasPrefix(data, []byte(`{"type":"error"`)) {
			fail("join refused: %s", data)
		}
	}
}

// encode builds the message a client sends: "<client> <sent ns>", fixed width (TextBytes bytes) so that
// both servers carry the same text, whatever the client number or the clock.
func encode(client int, sentNs int64) []byte {
	text := fmt.Sprintf("%06d %019d", client, sentNs)
	if *proto == "app" {
		return []byte(`{"type":"message","text":"` + text + `"}`)
	}
	return []byte(text)
}

// TextBytes is the length of every chat text the generator sends, far below gorilla's 512-byte read limit
// (examples/chat/client.go, maxMessageSize) and the app's text limit.
const TextBytes = 26

var textKey = []byte(`"text":"`)

// eachMessage calls fn(client, sentNs) for every chat message in one frame.
func eachMessage(frame []byte, fn func(client int, sentNs int64)) {
	if *proto == "app" {
		if !bytes.HasPrefix(frame, []byte(`{"type":"message"`)) {
			return // presence, welcome, pings...
		}
		at := bytes.Index(frame, textKey)
		if at < 0 {
			return
		}
		rest := frame[at+len(textKey):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return
		}
		parse(rest[:end], fn)
		return
	}
	for len(frame) > 0 {
		line := frame
		if nl := bytes.IndexByte(frame, '\n'); nl >= 0 {
			line, frame = frame[:nl], frame[nl+1:]
		} else {
			frame = nil
		}
		parse(line, fn)
	}
}

func parse(text []byte, fn func(client int, sentNs int64)) {
	space := bytes.IndexByte(text, ' ')
	if space < 0 {
		return
	}
	client, ok1 := parseInt(text[:space])
	sent, ok2 := parseInt(text[space+1:])
	if ok1 && ok2 {
		fn(int(client), sent)
	}
}

// parseInt reads a decimal (leading zeros and a minus allowed) without allocating: it runs for every
// delivery, and the generator must stay cheaper than the servers it measures.
func parseInt(digits []byte) (int64, bool) {
	negative := len(digits) > 0 && digits[0] == '-'
	if negative {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var n int64
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	if negative {
		n = -n
	}
	return n, true
}

// readFrame reads the next data frame into buf (reused: no allocation per frame) and returns its bytes,
// valid until the next call.
func readFrame(conn *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, reader, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(reader)
	return buf.Bytes(), err
}

func connectAll(n int, prefix string) ([]*websocket.Conn, time.Duration) {
	conns := make([]*websocket.Conn, n)
	began := time.Now()
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn := dial(i)
			join(conn, fmt.Sprintf("%s%d", prefix, i))
			conns[i] = conn
		}(i)
	}
	wg.Wait()
	return conns, time.Since(began)
}

// loop runs the closed loop. Its window is global: a client's next message waits until its previous one
// has reached every client, so at most one message per client is anywhere in the server, and no client's
// queue ever holds more than -clients messages (gorilla's holds 256: examples/chat/client.go, serveWs).
// Waiting only for the sender's own copy would not bound anything: a client whose copy comes back early
// sends again and again while a slower reader's queue still holds its earlier ones, and gorilla's hub
// drops a client whose queue is full (examples/chat/hub.go, run).
// inFlight counts the receivers still to get one client's message; one cache line each, so that readers
// on different cores do not contend for their neighbours' counters.
type inFlight struct {
	receivers atomic.Int32
	_         [60]byte
}

// readerCounts are one reader's own (read after it ends), one cache line each like inFlight.
type readerCounts struct {
	delivered, bytes, ever int64 // messages while measuring, their frames' bytes, messages in the whole run
	_                      [40]byte
}

func loop() {
	conns, _ := connectAll(*clients, "loop")
	var measuring atomic.Bool
	var dropped atomic.Int64
	stop := make(chan struct{})
	hists := make([]*histogram, len(conns))
	counts := make([]readerCounts, len(conns))
	pending := make([]inFlight, len(conns))
	next := make([]chan struct{}, len(conns))
	for i := range next {
		next[i] = make(chan struct{}, 1)
	}
	var wg sync.WaitGroup
	for i, conn := range conns {
		hists[i] = newHistogram()
		wg.Add(2)
		go func(i int, conn *websocket.Conn) { // writer: one message in flight
			defer wg.Done()
			for {
				pending[i].receivers.Store(int32(len(conns))) // the previous one is everywhere: no reader touches it
				if err := conn.WriteMessage(websocket.TextMessage, encode(i, nowNs())); err != nil {
					return
				}
				select {
				case <-next[i]:
				case <-stop:
					return
				}
			}
		}(i, conn)
		go func(conn *websocket.Conn, hist *histogram, counted *readerCounts) { // reader
			defer wg.Done()
			var buf bytes.Buffer
			for {
				frame, err := readFrame(conn, &buf)
				if err != nil {
					select {
					case <-stop:
					default:
						if dropped.Add(1) == 1 {
							fmt.Fprintf(os.Stderr, "loadgen: first disconnect: %v\n", err)
						}
					}
					return
				}
				now, measured := nowNs(), measuring.Load()
				count := int64(0)
				eachMessage(frame, func(client int, sent int64) {
					if client < 0 || client >= len(conns) {
						return
					}
					count++
					if measured {
						hist.add(now - sent)
					}
					if pending[client].receivers.Add(-1) == 0 {
						next[client] <- struct{}{} // never blocks: the writer waits for exactly this one
					}
				})
				counted.ever += count
				if measured {
					counted.delivered += count
					counted.bytes += int64(len(frame))
				}
			}
		}(conn, hists[i], &counts[i])
	}
	time.Sleep(time.Duration(*warmup * float64(time.Second)))
	measuring.Store(true)
	began := time.Now()
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	measuring.Store(false)
	elapsed := time.Since(began).Seconds()
	close(stop)
	for _, conn := range conns {
		conn.Close()
	}
	wg.Wait()
	all := newHistogram()
	var total, bytesIn, ever int64
	for i, h := range hists {
		all.merge(h)
		total, bytesIn, ever = total+counts[i].delivered, bytesIn+counts[i].bytes, ever+counts[i].ever
	}
	emit(map[string]any{
		"mode": "loop", "clients": len(conns), "deliveries": total, "seconds": elapsed,
		"deliveries_per_s": float64(total) / elapsed, "p50_ms": all.quantile(0.5), "p99_ms": all.quantile(0.99),
		"bytes_per_delivery": float64(bytesIn) / float64(max(total, 1)), "text_bytes": TextBytes,
		"all_deliveries": ever, "disconnects": dropped.Load(),
	})
}

func idle() {
	conns, took := connectAll(*clients, "idle")
	emit(map[string]any{"mode": "connected", "clients": len(conns), "connect_s": took.Seconds()})
	arrivals := make(chan int64, len(conns))
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Add(1)
		go func(conn *websocket.Conn) {
			defer wg.Done()
			for {
				_, frame, err := conn.ReadMessage()
				if err != nil {
					return
				}
				eachMessage(frame, func(client int, sent int64) {
					if client == -1 {
						arrivals <- nowNs() - sent
					}
				})
			}
		}(conn)
	}
	time.Sleep(time.Duration(*hold * float64(time.Second)))
	sender := connectOne("idle-sender")
	var took_ms []float64
	for b := 0; b < *broadcasts; b++ {
		if err := sender.WriteMessage(websocket.TextMessage, encode(-1, nowNs())); err != nil {
			fail("broadcast: %v", err)
		}
		var last int64
		deadline := time.After(30 * time.Second)
		for got := 0; got < len(conns); got++ {
			select {
			case ns := <-arrivals:
				last = max(last, ns)
			case <-deadline:
				fail("broadcast %d reached %d of %d clients in 30 s", b, got, len(conns))
			}
		}
		took_ms = append(took_ms, float64(last)/1e6)
		time.Sleep(300 * time.Millisecond) // an idle room between broadcasts (and the rate limit refills)
	}
	sort.Float64s(took_ms)
	emit(map[string]any{"mode": "broadcast", "clients": len(conns), "median_ms": took_ms[len(took_ms)/2], "all_ms": took_ms})
	sender.Close()
	for _, conn := range conns {
		conn.Close()
	}
	wg.Wait()
}

func connectOne(name string) *websocket.Conn {
	conn := dial(-1)
	join(conn, name)
	go func() { // the sender's own copies are read and dropped
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return conn
}

func emit(result map[string]any) {
	line, _ := json.Marshal(result)
	fmt.Println(string(line))
}

func main() {
	flag.Parse()
	switch *mode {
	case "loop":
		loop()
	case "idle":
		idle()
	default:
		fail("unknown -mode %q", *mode)
	}
}
