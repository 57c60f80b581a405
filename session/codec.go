package session

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// deadlineKey holds the session's absolute deadline among the values
// (keys starting "__trellis." are reserved).
const deadlineKey = "__trellis.deadline"

// codec is the scs.Codec Trellis uses. It encodes each value on its own and
// sorts keys, so the same data always gives the same bytes and a store can
// tell which keys a request changed without decoding them. Common types get
// a compact tagged form; anything else falls back to gob (register custom
// types with gob.Register, as with scs's default codec).
type codec struct{}

// Encode implements scs.Codec.
func (codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	raw := make(map[string][]byte, len(values)+1)
	for k, v := range values {
		b, err := encodeValue(v)
		if err != nil {
			return nil, fmt.Errorf("session: encoding %q: %w", k, err)
		}
		raw[k] = b
	}
	d, _ := encodeValue(deadline)
	raw[deadlineKey] = d
	return join(raw), nil
}

// Decode implements scs.Codec.
func (codec) Decode(b []byte) (time.Time, map[string]any, error) {
	raw, err := split(b)
	if err != nil {
		return time.Time{}, nil, err
	}
	values := make(map[string]any, len(raw))
	var deadline time.Time
	for k, rb := range raw {
		v, err := decodeValue(rb)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("session: decoding %q: %w", k, err)
		}
		if k == deadlineKey {
			deadline, _ = v.(time.Time)
			continue
		}
		values[k] = v
	}
	return deadline, values, nil
}

// join writes raw values sorted by key: count, then length-prefixed key and
// value pairs.
func join(raw map[string][]byte) []byte {
	keys := make([]string, 0, len(raw))
	size := binary.MaxVarintLen64
	for k, v := range raw {
		keys = append(keys, k)
		size += len(k) + len(v) + 2*binary.MaxVarintLen64
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(raw[k])))
		b = append(b, raw[k]...)
	}
	return b
}

var errCorrupt = errors.New("session: corrupt session data")

// split reads what join wrote.
func split(b []byte) (map[string][]byte, error) {
	n, used := binary.Uvarint(b)
	if used <= 0 || n > uint64(len(b)) {
		return nil, errCorrupt
	}
	b = b[used:]
	raw := make(map[string][]byte, n)
	for range n {
		var k, v []byte
		var ok bool
		if k, b, ok = chunk(b); !ok {
			return nil, errCorrupt
		}
		if v, b, ok = chunk(b); !ok {
			return nil, errCorrupt
		}
		raw[string(k)] = v
	}
	return raw, nil
}

func chunk(b []byte) (part, rest []byte, ok bool) {
	n, used := binary.Uvarint(b)
	if used <= 0 || n > uint64(len(b)-used) {
		return nil, nil, false
	}
	return b[used : used+int(n)], b[used+int(n):], true
}

// Value tags for the compact encodings.
const (
	tagString = 's'
	tagInt    = 'i'
	tagInt64  = 'I'
	tagBool   = 'b'
	tagBytes  = 'y'
	tagTime   = 't'
	tagFloat  = 'f'
	tagGob    = 'g'
)

func encodeValue(v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return append([]byte{tagString}, x...), nil
	case int:
		return binary.AppendVarint([]byte{tagInt}, int64(x)), nil
	case int64:
		return binary.AppendVarint([]byte{tagInt64}, x), nil
	case bool:
		if x {
			return []byte{tagBool, 1}, nil
		}
		return []byte{tagBool, 0}, nil
	case []byte:
		return append([]byte{tagBytes}, x...), nil
	case float64:
		return binary.BigEndian.AppendUint64([]byte{tagFloat}, math.Float64bits(x)), nil
	case time.Time:
		t, err := x.MarshalBinary()
		if err != nil {
			return nil, err
		}
		return append([]byte{tagTime}, t...), nil
	}
	var buf bytes.Buffer
	buf.WriteByte(tagGob)
	if err := gob.NewEncoder(&buf).Encode(&v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeValue(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, errCorrupt
	}
	body := b[1:]
	switch b[0] {
	case tagString:
		return string(body), nil
	case tagInt, tagInt64:
		n, used := binary.Varint(body)
		if used <= 0 {
			return nil, errCorrupt
		}
		if b[0] == tagInt {
			return int(n), nil
		}
		return n, nil
	case tagBool:
		return len(body) == 1 && body[0] == 1, nil
	case tagBytes:
		return bytes.Clone(body), nil
	case tagFloat:
		if len(body) != 8 {
			return nil, errCorrupt
		}
		return math.Float64frombits(binary.BigEndian.Uint64(body)), nil
	case tagTime:
		var t time.Time
		err := t.UnmarshalBinary(body)
		return t, err
	case tagGob:
		var v any
		err := gob.NewDecoder(bytes.NewReader(body)).Decode(&v)
		return v, err
	}
	return nil, errCorrupt
}
