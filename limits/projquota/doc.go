// Package projquota owns filesystem project quotas on XFS and ext4:
// tagging a directory tree with a project ID, setting and reading that
// project's limits and usage, and allocating IDs that persist across
// restarts. It talks to the filesystem only (ioctl, quotactl, mountinfo);
// it must not touch cgroupfs or decide which directory gets which cap (that
// is the enforcer's job), and it imports nothing of quell's.
package projquota
