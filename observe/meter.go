package observe

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/propagation"
)

// contextWithRoute gives the router rctx to fill: chi's Mux uses a route
// context it finds in the request instead of making its own.
func contextWithRoute(ctx context.Context, rctx *chi.Context) context.Context {
	return context.WithValue(ctx, chi.RouteCtxKey, rctx)
}

// propagationHeader reads trace context from request headers.
func propagationHeader(h http.Header) propagation.HeaderCarrier { return propagation.HeaderCarrier(h) }
