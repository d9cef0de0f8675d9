package main

import (
	"fmt"
	"io"
)

// cpioWriter writes a "newc" (SVR4, no CRC) cpio archive, the format the
// Linux kernel unpacks as an initramfs. It only knows the three entry kinds
// an initramfs needs: directories, regular files and symlinks.
type cpioWriter struct {
	w     io.Writer
	inode uint32
	err   error
}

func newCPIOWriter(w io.Writer) *cpioWriter { return &cpioWriter{w: w, inode: 1} }

const (
	cpioModeDir     = 0o040000
	cpioModeFile    = 0o100000
	cpioModeSymlink = 0o120000
)

// Dir adds a directory entry with the given permission bits.
func (c *cpioWriter) Dir(name string, perm uint32) error {
	return c.entry(name, cpioModeDir|perm, nil)
}

// File adds a regular file holding data.
func (c *cpioWriter) File(name string, perm uint32, data []byte) error {
	return c.entry(name, cpioModeFile|perm, data)
}

// Symlink adds a symbolic link name -> target.
func (c *cpioWriter) Symlink(name, target string) error {
	return c.entry(name, cpioModeSymlink|0o777, []byte(target))
}

// Close writes the trailer entry that ends the archive.
func (c *cpioWriter) Close() error {
	return c.entry("TRAILER!!!", 0, nil)
}

func (c *cpioWriter) entry(name string, mode uint32, data []byte) error {
	if c.err != nil {
		return c.err
	}
	ino := c.inode
	c.inode++
	nlink := 1
	if mode&0o170000 == cpioModeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name))
	c.write([]byte{0})
	c.pad(len(hdr) + len(name) + 1)
	c.write(data)
	c.pad(len(data))
	if c.err != nil {
		return fmt.Errorf("write cpio entry %s: %w", name, c.err)
	}
	return nil
}

func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}
