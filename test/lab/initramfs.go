package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// initramfsInputs are the files a guest image is built from.
type initramfsInputs struct {
	Kernel  kernel
	Modules []module
	Init    string // the lab binary, static, becomes /init
	Busybox string // static busybox, a rescue shell at /bin/sh
}

// key hashes everything that goes into the image, so a changed lab binary,
// kernel, module or busybox rebuilds it and nothing else does.
func (in initramfsInputs) key() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "kernel %s\n", in.Kernel.Version)
	for _, p := range []string{in.Init, in.Busybox} {
		if err := hashFile(h, p); err != nil {
			return "", err
		}
	}
	for _, m := range in.Modules {
		fi, err := os.Stat(filepath.Join(in.Kernel.ModDir, m.Path))
		if err != nil {
			return "", fmt.Errorf("kernel module %s: %w", m.Name, err)
		}
		fmt.Fprintf(h, "%s %v %d %d\n", m.Path, m.Optional, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("guest input: %w", err)
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

// buildInitramfs returns the path of the cached image for in under
// cacheDir, building it first if no image with the same inputs exists.
func buildInitramfs(cacheDir string, in initramfsInputs) (path string, built bool, err error) {
	key, err := in.key()
	if err != nil {
		return "", false, err
	}
	path = filepath.Join(cacheDir, "initramfs-"+key+".img")
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", false, fmt.Errorf("lab cache: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := writeInitramfs(zw, in); err != nil {
		return "", false, err
	}
	if err := zw.Close(); err != nil {
		return "", false, err
	}
	// A unique temp name, then rename: concurrent labs may build the same image.
	tmp, err := os.CreateTemp(cacheDir, "initramfs-*.tmp")
	if err != nil {
		return "", false, fmt.Errorf("write initramfs: %w", err)
	}
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", false, fmt.Errorf("write initramfs: %w", werr)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", false, fmt.Errorf("write initramfs: %w", err)
	}
	return path, true, nil
}

func writeInitramfs(w io.Writer, in initramfsInputs) error {
	c := newCPIOWriter(w)
	for _, d := range []string{"bin", "dev", "proc", "sys", "lab", "lib", "lib/modules",
		lowerDir[1:], upperDir[1:], newRoot[1:]} {
		if err := c.Dir(d, 0o755); err != nil {
			return err
		}
	}
	files := []struct{ src, dst string }{{in.Init, "init"}, {in.Busybox, "bin/busybox"}}
	var list strings.Builder
	for i, m := range in.Modules {
		dst := fmt.Sprintf("lib/modules/%02d-%s.ko", i, m.Name)
		files = append(files, struct{ src, dst string }{filepath.Join(in.Kernel.ModDir, m.Path), dst})
		opt := "required"
		if m.Optional {
			opt = "optional"
		}
		fmt.Fprintf(&list, "/%s %s\n", dst, opt)
	}
	for _, f := range files {
		b, err := os.ReadFile(f.src)
		if err != nil {
			return fmt.Errorf("guest input: %w", err)
		}
		if err := c.File(f.dst, 0o755, b); err != nil {
			return err
		}
	}
	if err := c.File(initModList[1:], 0o644, []byte(list.String())); err != nil {
		return err
	}
	if err := c.Symlink("bin/sh", "busybox"); err != nil {
		return err
	}
	return c.Close()
}
