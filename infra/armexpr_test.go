package infra

import (
	"fmt"
	"strconv"
	"strings"
)

// This file evaluates the part of the ARM template expression language
// that decides which resources a deployment creates and with which
// settings: parameters, variables, if, equals, not, and, or, empty, bool,
// concat, format, toLower, string, null. Everything only Azure can compute
// (resourceId, reference, guid, uniqueString, environment, ...) stays an
// expression: the value is then the source text of the smallest enclosing
// call that could not be reduced, written as "[...]", which is also how the
// template spells it. So "[variables('identityId')]" renders as itself
// (the identity's resource id is Azure's to compute), while
// "[if(parameters('privateNetworking'), 'Disabled', 'Enabled')]" renders
// as "Disabled" or "Enabled".

// symbolic is an expression left for Azure to evaluate, without brackets.
type symbolic string

type armNode struct {
	kind  byte // 's' string, 'n' number, 'c' call, 'p' property, 'i' index
	str   string
	num   int64
	args  []*armNode // call arguments; for 'p' and 'i': the object (and the index)
	start int
	end   int
}

type armParser struct {
	src string
	pos int
}

func parseARMExpression(src string) (*armNode, error) {
	p := &armParser{src: src}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q at %d in %q", p.src[p.pos:], p.pos, src)
	}
	return n, nil
}

func (p *armParser) space() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *armParser) expr() (*armNode, error) {
	p.space()
	start := p.pos
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		if p.pos < len(p.src) && p.src[p.pos] == '.' {
			p.pos++
			name := p.ident()
			if name == "" {
				return nil, fmt.Errorf("property name expected at %d in %q", p.pos, p.src)
			}
			n = &armNode{kind: 'p', str: name, args: []*armNode{n}, start: start, end: p.pos}
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '[' {
			p.pos++
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.pos >= len(p.src) || p.src[p.pos] != ']' {
				return nil, fmt.Errorf("] expected at %d in %q", p.pos, p.src)
			}
			p.pos++
			n = &armNode{kind: 'i', args: []*armNode{n, idx}, start: start, end: p.pos}
			continue
		}
		return n, nil
	}
}

func (p *armParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *armParser) primary() (*armNode, error) {
	start := p.pos
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("expression ends early: %q", p.src)
	}
	switch c := p.src[p.pos]; {
	case c == '\'':
		var b strings.Builder
		p.pos++
		for {
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("unterminated string in %q", p.src)
			}
			if p.src[p.pos] == '\'' {
				if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
					b.WriteByte('\'')
					p.pos += 2
					continue
				}
				p.pos++
				break
			}
			b.WriteByte(p.src[p.pos])
			p.pos++
		}
		return &armNode{kind: 's', str: b.String(), start: start, end: p.pos}, nil
	case c == '-' || c >= '0' && c <= '9':
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		v, err := strconv.ParseInt(p.src[start:p.pos], 10, 64)
		if err != nil {
			return nil, err
		}
		return &armNode{kind: 'n', num: v, start: start, end: p.pos}, nil
	}
	name := p.ident()
	if name == "" {
		return nil, fmt.Errorf("unexpected %q at %d in %q", p.src[p.pos:], p.pos, p.src)
	}
	p.space()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, fmt.Errorf("( expected after %s in %q", name, p.src)
	}
	p.pos++
	n := &armNode{kind: 'c', str: name, start: start}
	p.space()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
		n.end = p.pos
		return n, nil
	}
	for {
		arg, err := p.expr()
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, arg)
		p.space()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == ')' {
			p.pos++
			n.end = p.pos
			return n, nil
		}
		return nil, fmt.Errorf(", or ) expected at %d in %q", p.pos, p.src)
	}
}

// armEvaluator evaluates expressions of one template for one set of
// parameter values.
type armEvaluator struct {
	params    map[string]any // given values
	defaults  map[string]any // the template's defaultValue of each parameter
	variables map[string]any
	err       error // the first expression that did not parse
}

// value renders a JSON value: strings that are expressions are evaluated,
// objects and arrays recursively (object keys too), null properties left out.
func (e *armEvaluator) value(v any) any {
	switch v := v.(type) {
	case string:
		return e.stringValue(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			key, ok := e.stringValue(k).(string)
			if !ok {
				key = fmt.Sprint(e.stringValue(k))
			}
			if r := e.value(item); r != nil {
				out[key] = r
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, item := range v {
			out = append(out, e.value(item))
		}
		return out
	default:
		return v
	}
}

// stringValue evaluates "[expr]" (a literal string otherwise; "[[" escapes
// a leading bracket). A symbolic result comes back as "[source]".
func (e *armEvaluator) stringValue(s string) any {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return s
	}
	if strings.HasPrefix(s, "[[") {
		return s[1:]
	}
	n, err := parseARMExpression(s[1 : len(s)-1])
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return s
	}
	v := e.eval(n, s[1:len(s)-1])
	if sym, ok := v.(symbolic); ok {
		return "[" + string(sym) + "]"
	}
	return v
}

// eval returns a concrete value or a symbolic one.
func (e *armEvaluator) eval(n *armNode, src string) any {
	here := symbolic(src[n.start:n.end])
	switch n.kind {
	case 's':
		return n.str
	case 'n':
		return float64(n.num)
	case 'p':
		obj, ok := e.eval(n.args[0], src).(map[string]any)
		if !ok {
			return here
		}
		if v, ok := obj[n.str]; ok {
			return v
		}
		return here
	case 'i':
		return here
	}
	args := make([]any, len(n.args))
	concrete := true
	for i, a := range n.args {
		if n.str == "if" && i > 0 {
			break // only the chosen branch is evaluated
		}
		args[i] = e.eval(a, src)
		if _, sym := args[i].(symbolic); sym {
			concrete = false
		}
	}
	switch strings.ToLower(n.str) {
	case "parameters", "variables":
		name, ok := args[0].(string)
		if !ok {
			return here
		}
		var raw any
		var found bool
		if strings.EqualFold(n.str, "parameters") {
			if raw, found = e.params[name]; !found {
				raw, found = e.defaults[name]
			}
		} else {
			raw, found = e.variables[name]
		}
		if !found || raw == nil {
			return here
		}
		v := e.value(raw)
		if s, ok := v.(string); ok && isExpression(s) {
			return here // left for Azure: keep the call, not its expansion
		}
		return v
	case "if":
		cond, ok := args[0].(bool)
		if !ok || len(n.args) != 3 {
			return here
		}
		branch := n.args[2]
		if cond {
			branch = n.args[1]
		}
		return e.eval(branch, src)
	case "null":
		return nil
	case "true":
		return true
	case "false":
		return false
	}
	if !concrete {
		return here
	}
	switch strings.ToLower(n.str) {
	case "equals":
		if len(args) == 2 {
			return fmt.Sprint(args[0]) == fmt.Sprint(args[1])
		}
	case "not":
		if b, ok := args[0].(bool); ok {
			return !b
		}
	case "and", "or":
		and := strings.EqualFold(n.str, "and")
		result := and
		for _, a := range args {
			b, ok := a.(bool)
			if !ok {
				return here
			}
			if and {
				result = result && b
			} else {
				result = result || b
			}
		}
		return result
	case "empty":
		switch v := args[0].(type) {
		case string:
			return v == ""
		case []any:
			return len(v) == 0
		case map[string]any:
			return len(v) == 0
		case nil:
			return true
		}
	case "bool":
		switch v := args[0].(type) {
		case bool:
			return v
		case string:
			return strings.EqualFold(v, "true")
		}
	case "concat":
		var b strings.Builder
		for _, a := range args {
			s, ok := a.(string)
			if !ok {
				return here
			}
			b.WriteString(s)
		}
		return b.String()
	case "format":
		f, ok := args[0].(string)
		if !ok {
			return here
		}
		for i, a := range args[1:] {
			f = strings.ReplaceAll(f, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
		}
		return f
	case "tolower":
		if s, ok := args[0].(string); ok {
			return strings.ToLower(s)
		}
	case "string":
		switch v := args[0].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(v)
		}
	}
	return here
}

func isExpression(s string) bool {
	return strings.HasPrefix(s, "[") && !strings.HasPrefix(s, "[[") && strings.HasSuffix(s, "]")
}
