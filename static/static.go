// Package static embeds the browser assets: vendored htmx and Pico CSS (see
// scripts/vendor-static.sh for their pinned versions) and adpilot's own CSS.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
)

//go:embed vendor/*.js vendor/*.css css/*.css img/*.svg js/*.js
var files embed.FS

// Asset is one embedded file with its content hash.
type Asset struct {
	Name    string
	Content []byte
	Hash    string // first 12 hex digits of the SHA-256, used as ETag and cache buster
}

var assets = load()

func load() map[string]Asset {
	out := map[string]Asset{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = Asset{Name: path.Base(p), Content: b, Hash: hex.EncodeToString(sum[:])[:12]}
		return nil
	})
	if err != nil {
		panic("static: reading embedded files: " + err.Error())
	}
	return out
}

// Lookup returns the asset at p (for example "vendor/htmx.min.js").
func Lookup(p string) (Asset, bool) {
	a, ok := assets[p]
	return a, ok
}

// URL returns the public URL of an asset with its content hash appended, so
// browsers may cache it forever and still see every new version.
func URL(p string) string {
	a, ok := assets[p]
	if !ok {
		panic("static: no asset " + p) // a typo in a template: fail the first render in tests
	}
	return "/static/" + p + "?v=" + a.Hash
}
