// Package tc owns quell's network shaping: per-tenant IFBs with HTB
// classes and fq_codel leaves, fed by matchall filters on the containers'
// host veths (the layout is described at the top of net.go), and the
// traffic counters read back from them. It talks netlink only; it must not
// touch cgroupfs or decide which container gets which rate (that is the
// enforcer's job), and it imports nothing of quell's.
package tc
