package cli

import (
	"context"
	"reflect"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/internal/safetext"
)

// Human output never prints text a container's creator controls as it came:
// names, labels, IDs and cgroup names may hold terminal escapes, newlines,
// bidi overrides or invalid UTF-8, and a label may be a megabyte long. The
// read commands render what a Service returns, so in human mode they get a
// Service whose answers have every string escaped and capped
// (safetext.Line) before any formatting code sees them; JSON output takes
// the exact values (encoding/json escapes them and writes invalid UTF-8
// as U+FFFD).

// safeService wraps a Service so that every string in its answers is
// escaped and capped for a terminal.
type safeService struct{ api.Service }

// humanSafe returns svc as the command should use it: unchanged for --json,
// else wrapped in safeService.
func (e *env) humanSafe(svc api.Service) api.Service {
	if e.g.json || svc == nil {
		return svc
	}
	return safeService{svc}
}

func (s safeService) View(ctx context.Context) (*view.View, error) {
	v, err := s.Service.View(ctx)
	return safeCopy(v), err
}

func (s safeService) Events(ctx context.Context, since uint64, limit int, wait time.Duration) ([]view.Event, error) {
	evs, err := s.Service.Events(ctx, since, limit, wait)
	return safeCopy(evs), err
}

func (s safeService) Explain(ctx context.Context, id string) (*view.Explanation, error) {
	x, err := s.Service.Explain(ctx, id)
	return safeCopy(x), err
}

func (s safeService) Plan(ctx context.Context) ([]view.PlanEntry, error) {
	p, err := s.Service.Plan(ctx)
	return safeCopy(p), err
}

// safeCopy returns a deep copy of v with every string (struct fields,
// slice elements, map keys and values, behind pointers) passed through
// safetext.Line. Unexported fields (time.Time's) are copied as they are.
// v itself is not changed.
func safeCopy[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	out := safeValue(rv)
	return out.Interface().(T)
}

func safeValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if e := safetext.Line(s); e != s {
			return reflect.ValueOf(e).Convert(v.Type())
		}
		return v
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(safeValue(v.Elem()))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(safeValue(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if f := out.Field(i); f.CanSet() {
				f.Set(safeValue(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(safeValue(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(safeValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			out.SetMapIndex(safeValue(it.Key()), safeValue(it.Value()))
		}
		return out
	}
	return v
}
