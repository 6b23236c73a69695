package rlhf

import (
	"embed"
	"io/fs"
	"net/http"
)

// pageFiles is the labelling page: plain HTML, CSS and JavaScript, no
// build step and nothing loaded from elsewhere.
//
//go:embed page/index.html page/app.js page/style.css
var pageFiles embed.FS

// pageHandler serves pageFiles (index.html at /), with headers that keep
// the page to its own origin: a content security policy that allows only
// its own scripts, styles and websocket, no framing, no MIME sniffing and
// no referrer.
func pageHandler() http.Handler {
	sub, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic("rlhf: embedded page: " + err.Error()) // cannot happen: the directory is embedded
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
