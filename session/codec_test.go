package session

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestCodecRoundTripAndDeterminism(t *testing.T) {
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	values := map[string]any{
		"s": "text", "i": 42, "I": int64(-7), "b": true, "y": []byte{0, 1, 2}, "f": 1.5,
		"t": deadline.Add(time.Hour), "g": []string{"a", "b"},
	}
	var c codec
	b1, err := c.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b2, _ := c.Encode(deadline, values)
		if !bytes.Equal(b1, b2) {
			t.Fatal("encoding is not deterministic")
		}
	}
	d, got, err := c.Decode(b1)
	if err != nil || !d.Equal(deadline) {
		t.Fatalf("deadline %v %v", d, err)
	}
	if got["s"] != "text" || got["i"] != 42 || got["I"] != int64(-7) || got["b"] != true || got["f"] != 1.5 ||
		!bytes.Equal(got["y"].([]byte), []byte{0, 1, 2}) || !got["t"].(time.Time).Equal(deadline.Add(time.Hour)) {
		t.Fatalf("decoded %#v", got)
	}
	if g, ok := got["g"].([]string); !ok || len(g) != 2 {
		t.Fatalf("gob value %#v", got["g"])
	}
	if _, ok := got[deadlineKey]; ok {
		t.Error("deadline leaked into values")
	}
	for _, bad := range [][]byte{nil, {0xff}, {5, 1}, {1, 1, 'k', 9, 's'}, b1[:len(b1)/2]} {
		if _, _, err := c.Decode(bad); err == nil {
			t.Errorf("corrupt data %v decoded without error", bad)
		}
	}
}

func TestAdapterCommitsOnlyChangedKeys(t *testing.T) {
	m := NewMemory()
	a := &adapter{backend: m, touchAfter: time.Minute}
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	var c codec
	initial, _ := c.Encode(exp, map[string]any{"a": "1", "b": "2"})
	if err := a.CommitCtx(ctx, "tok", initial, exp); err != nil {
		t.Fatal(err)
	}
	// Two requests load the same session…
	s1, s2 := &snapshot{}, &snapshot{}
	ctx1 := context.WithValue(ctx, snapshotKey{}, s1)
	ctx2 := context.WithValue(ctx, snapshotKey{}, s2)
	b1, _, _ := a.FindCtx(ctx1, "tok")
	b2, _, _ := a.FindCtx(ctx2, "tok")
	_, v1, _ := c.Decode(b1)
	_, v2, _ := c.Decode(b2)
	// …one changes a and adds c, the other deletes b.
	v1["a"], v1["c"] = "changed", "3"
	delete(v2, "b")
	n1, _ := c.Encode(exp, v1)
	n2, _ := c.Encode(exp, v2)
	if err := a.CommitCtx(ctx1, "tok", n1, exp); err != nil {
		t.Fatal(err)
	}
	if err := a.CommitCtx(ctx2, "tok", n2, exp); err != nil {
		t.Fatal(err)
	}
	final, _, _ := a.FindCtx(ctx, "tok")
	_, v, _ := c.Decode(final)
	if v["a"] != "changed" || v["c"] != "3" || v["b"] != nil || len(v) != 2 {
		t.Fatalf("merged session = %v", v)
	}
	// A session destroyed meanwhile is not resurrected by a late commit.
	s3 := &snapshot{}
	ctx3 := context.WithValue(ctx, snapshotKey{}, s3)
	b3, _, _ := a.FindCtx(ctx3, "tok")
	_, v3, _ := c.Decode(b3)
	_ = a.DeleteCtx(ctx, "tok")
	v3["late"] = "write"
	n3, _ := c.Encode(exp, v3)
	_ = a.CommitCtx(ctx3, "tok", n3, exp)
	if _, found, _ := a.FindCtx(ctx, "tok"); found {
		t.Error("a destroyed session came back")
	}
}
