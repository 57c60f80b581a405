package htmx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Trigger adds event to the HX-Trigger response header, which makes htmx
// dispatch it on the element that issued the request as soon as the response
// is received. See [TriggerAfterSwap] and [TriggerAfterSettle] for later
// points in the swap.
//
// The header always holds a JSON object mapping event names to details, so
// several calls accumulate: Trigger(w, "a", 1) then Trigger(w, "b", nil)
// gives {"a":1,"b":null}. A later call for an event already present replaces
// its detail. A value already set by other code in htmx's plain form
// ("ev1, ev2") is converted, keeping those events with a null detail. Keys
// are written in sorted order, so the value is deterministic.
//
// detail is encoded with encoding/json; nil encodes as null. htmx passes an
// object detail to listeners as event.detail and wraps any other value as
// {value: detail}.
//
// Trigger returns an error, leaving the header unchanged, when event is
// empty or only white space, when detail cannot be encoded, or when the
// existing header value starts with "{" but is not a JSON object.
func Trigger(w http.ResponseWriter, event string, detail any) error {
	return addTrigger(w.Header(), HeaderTrigger, event, detail)
}

// TriggerAfterSettle is like [Trigger] but uses HX-Trigger-After-Settle,
// whose events htmx dispatches after the settle step.
func TriggerAfterSettle(w http.ResponseWriter, event string, detail any) error {
	return addTrigger(w.Header(), HeaderTriggerAfterSettle, event, detail)
}

// TriggerAfterSwap is like [Trigger] but uses HX-Trigger-After-Swap, whose
// events htmx dispatches after the swap step.
func TriggerAfterSwap(w http.ResponseWriter, event string, detail any) error {
	return addTrigger(w.Header(), HeaderTriggerAfterSwap, event, detail)
}

func addTrigger(h http.Header, header, event string, detail any) error {
	if strings.TrimSpace(event) == "" {
		return fmt.Errorf("htmx: %s: empty event name", header)
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("htmx: %s: encoding detail of event %q: %w", header, event, err)
	}
	events, err := parseTriggers(h.Values(header))
	if err != nil {
		return fmt.Errorf("htmx: %s: reading existing value: %w", header, err)
	}
	events[event] = raw
	js, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("htmx: %s: encoding events: %w", header, err)
	}
	h.Set(header, asciiJSON(js))
	return nil
}

// parseTriggers reads existing values of a trigger header, each either a
// JSON object or a comma-separated list of event names, into one map. Later
// values win.
func parseTriggers(values []string) (map[string]json.RawMessage, error) {
	events := make(map[string]json.RawMessage)
	for _, v := range values {
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "{") {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(v), &obj); err != nil {
				return nil, fmt.Errorf("invalid JSON object: %w", err)
			}
			for name, detail := range obj {
				events[name] = detail
			}
			continue
		}
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				events[name] = json.RawMessage("null")
			}
		}
	}
	return events, nil
}
