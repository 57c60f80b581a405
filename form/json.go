package form

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-json-experiment/json"
)

// ErrJSON is returned by DecodeJSON for a body that is not exactly one
// JSON value of the expected shape.
var ErrJSON = errors.New("form: malformed JSON body")

// DecodeJSON decodes r's body, at most maxBytes long, into dst strictly:
// unknown or duplicate member names, trailing data after the value, invalid
// UTF-8 and values of the wrong type are errors wrapping ErrJSON (answer
// 400); an oversized body is a *http.MaxBytesError (answer 413). Strictness
// matters for APIs that grant things: {"role":"editor","role":"admin"}
// must not be read as either.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any, maxBytes int64) error {
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	err := json.UnmarshalRead(body, dst, json.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the body ends early", ErrJSON)
	}
	return fmt.Errorf("%w: %w", ErrJSON, err)
}
