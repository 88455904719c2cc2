package pygen

import (
	"sort"
	"strings"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// models writes _gen/models.py: one slotted, keyword-only dataclass per model message. Field
// defaults are Go's zero values (None for nil), so `Post(channel_id=c, message="hi")` is a
// valid post, and Go → Python → Go keeps nil apart from empty.
func (g *generator) models() (string, error) {
	var w writer
	g.header(&w, "Model dataclasses: one per Go type reachable from plugin.API, plugin.Hooks and\n"+
		"plugin.Driver (proto message name = class name, proto field name = attribute name).\n\n"+
		"Go → Python: pointers, slices, maps and []byte are `X | None` with None for nil, so an empty\n"+
		"list/dict/bytes stays different from nil; `any` is plain Python data (see mmplugin._values);\n"+
		"time.Time is an aware datetime in UTC (a mmplugin._values.GoTime when it has nanoseconds below\n"+
		"the microsecond); a *[]T field pointing at a nil slice holds GoNilList() (GoNilBytes() for\n"+
		"*[]byte).")
	w.line(0, "from dataclasses import dataclass, field")
	w.line(0, "from datetime import datetime")
	w.line(0, "from typing import Any")
	w.blank(1)
	w.line(0, "from mmplugin._values import GO_ZERO_TIME")
	w.line(0, "from mmplugin.errors import AppError, PluginAPIError")
	for _, t := range g.modelOrder() {
		w.blank(2)
		g.writeModel(&w, t)
	}
	w.blank(2)
	names := make([]string, 0, len(g.s.Types))
	for _, t := range g.s.Types {
		names = append(names, pyString(t.Name))
	}
	w.line(0, "__all__ = [")
	for _, n := range sortAll(names) {
		w.line(1, "%s,", n)
	}
	w.line(0, "]")
	return w.String(), nil
}

// sortAll orders quoted names as ruff's RUF022 wants __all__: "isort-style" (SCREAMING_CASE,
// then CamelCase, then the rest, each group alphabetical).
func sortAll(quoted []string) []string {
	out := append([]string(nil), quoted...)
	class := func(s string) int {
		n := strings.Trim(s, `"`)
		switch {
		case len(n) > 1 && strings.ToUpper(n) == n:
			return 0
		case n[0] >= 'A' && n[0] <= 'Z':
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := class(out[i]), class(out[j])
		if ci != cj {
			return ci < cj
		}
		return out[i] < out[j]
	})
	return out
}

// modelOrder sorts the types by name, then moves every type after the value-struct fields it
// instantiates as defaults (field(default_factory=X) needs X defined first).
func (g *generator) modelOrder() []*ir.Type {
	var out []*ir.Type
	done := map[*ir.Type]bool{}
	var visit func(t *ir.Type)
	visit = func(t *ir.Type) {
		if done[t] {
			return
		}
		done[t] = true
		for _, f := range t.Fields {
			if f.Type.Kind == ir.KindMessage {
				visit(f.Type.Message)
			}
		}
		out = append(out, t)
	}
	for _, t := range g.s.Types {
		visit(t)
	}
	return out
}

func goTypeString(t *ir.Type) string {
	pkg := t.GoPkg[strings.LastIndex(t.GoPkg, "/")+1:]
	return pkg + "." + t.GoName
}

func (g *generator) writeModel(w *writer, t *ir.Type) {
	w.line(0, "@dataclass(slots=True, kw_only=True)")
	w.line(0, "class %s:", t.Name)
	doc := "Go's " + goTypeString(t) + "."
	if !strings.HasSuffix(t.GoPkg, "/server/public/model") {
		doc = "Go's " + goTypeString(t) + " (" + t.GoPkg + ")."
	}
	if t.Dynamic {
		doc += "\n\nIt may also travel inside an `any` value (Post props and the like)."
	}
	if len(t.Skipped) > 0 {
		doc += "\n\nNot sent (gob skips func and chan fields too): " + strings.Join(t.Skipped, ", ") + "."
	}
	w.docstring(1, doc)
	if len(t.Fields) > 0 {
		w.blank(1)
	}
	for _, f := range t.Fields {
		ann := g.fieldType(f.Type)
		def := g.fieldDefault(f.Type)
		w.expr(1, f.ProtoName+": "+ann+" = ", def, "")
	}
}

// fieldDefault is Go's zero value in Python.
func (g *generator) fieldDefault(r *ir.TypeRef) string {
	switch r.Kind {
	case ir.KindScalar:
		return scalarZero(r.Scalar)
	case ir.KindMessage:
		return "field(default_factory=" + r.Message.Name + ")"
	case ir.KindTimestamp:
		return "GO_ZERO_TIME"
	}
	return "None"
}
