package policies_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// node is a generic XML element for reading policies in tests.
type node struct {
	Name     string
	Attrs    map[string]string
	Text     string
	Children []*node
}

func parseXML(t testing.TB, name string, data []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{Name: tok.Name.Local, Attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.Attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	return root
}

// walk calls fn for n and every element below it, with its parent.
func (n *node) walk(parent *node, fn func(n, parent *node)) {
	fn(n, parent)
	for _, c := range n.Children {
		c.walk(n, fn)
	}
}

// all returns the descendants of n named name (any depth).
func (n *node) all(name string) []*node {
	var out []*node
	n.walk(nil, func(c, _ *node) {
		if c.Name == name {
			out = append(out, c)
		}
	})
	return out
}

// child returns the first direct child named name, or nil.
func (n *node) child(name string) *node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (n *node) text() string { return strings.TrimSpace(n.Text) }

// metadata returns the Metadata items of a technical profile.
func (n *node) metadata() map[string]string {
	m := map[string]string{}
	if md := n.child("Metadata"); md != nil {
		for _, it := range md.Children {
			m[it.Attrs["Key"]] = it.text()
		}
	}
	return m
}
