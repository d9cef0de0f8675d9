package api

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// Connection limits. A reader in group quell could otherwise open
// connections until quelld runs out of file descriptors. Each accepted
// connection is identified at once (SO_PEERCRED); a uid holding
// MaxConnsPerUID connections, or any non-root caller while MaxConns are
// open, has its new connection closed straight away, so quelld never holds
// more than MaxConns + rootReserve of them. Root has its own reserve, so
// `sudo quell status` answers while a member floods the socket.
//
// (golang.org/x/net/netutil.LimitListener caps the total only: it blocks
// Accept at the cap, and one uid could take every slot and lock every other
// caller out, root included.)

// rootReserve is how many connections root may have beyond MaxConns.
const rootReserve = 16

// limitListener closes connections over the limits and stashes each kept
// connection's creds for ConnContext.
type limitListener struct {
	net.Listener
	creds   func(net.Conn) (Creds, error)
	max     int
	perUID  int
	log     *slog.Logger
	mu      sync.Mutex
	total   int
	byUID   map[uint32]int
	lastLog time.Time
	refused int
}

func newLimitListener(l net.Listener, creds func(net.Conn) (Creds, error), max, perUID int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: l, creds: creds, max: max, perUID: perUID, log: log, byUID: map[uint32]int{}}
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		creds, cerr := l.creds(c)
		if cerr != nil {
			// Not identifiable: kept (counted as nobody) and refused with
			// 403 by ServeHTTP, saying why.
			creds = Creds{UID: nobodyUID}
		}
		if !l.admit(creds.UID) {
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, uid: creds.UID, creds: credsResult{creds: creds, err: cerr}}, nil
	}
}

// nobodyUID counts connections whose peer could not be identified.
const nobodyUID = 1<<32 - 1

func (l *limitListener) admit(uid uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok := l.total < l.max && l.byUID[uid] < l.perUID
	if uid == 0 {
		ok = l.total < l.max+rootReserve
	}
	if !ok {
		l.refused++
		if now := time.Now(); now.Sub(l.lastLog) >= 10*time.Second {
			l.log.Warn("api: connections over the limit closed", "uid", uid, "uid_connections", l.byUID[uid],
				"total", l.total, "max", l.max, "max_per_uid", l.perUID, "refused_since_last_report", l.refused)
			l.lastLog, l.refused = now, 0
		}
		return false
	}
	l.total++
	l.byUID[uid]++
	return true
}

func (l *limitListener) release(uid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byUID[uid]--; l.byUID[uid] <= 0 {
		delete(l.byUID, uid)
	}
}

// limitedConn gives its slot back on the first Close.
type limitedConn struct {
	net.Conn
	l     *limitListener
	uid   uint32
	creds credsResult
	once  sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.uid) })
	return err
}

// connCreds returns the creds the listener stashed for c, or asks peer.
func connCreds(c net.Conn, peer func(net.Conn) (Creds, error)) credsResult {
	if lc, ok := c.(*limitedConn); ok {
		return lc.creds
	}
	creds, err := peer(c)
	return credsResult{creds: creds, err: err}
}
