package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
)

// rolesResponse is the JSON shape of every role API answer.
type rolesResponse struct {
	UserID  int64    `json:"user_id"`
	Roles   []string `json:"roles"`
	Message string   `json:"message"`
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	render.JSON(w, status, map[string]any{"error": msg, "status": status})
}

func (a *Auth) targetID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		jsonError(w, http.StatusBadRequest, "user id must be a positive integer")
		return 0, false
	}
	return id, true
}

func (a *Auth) roleError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		jsonError(w, http.StatusNotFound, "user not found")
	case errors.Is(err, ErrInvalidRole):
		jsonError(w, http.StatusBadRequest, "role must be 1 to 32 characters: a lower-case letter, then letters, digits, '-' or '_'")
	case errors.Is(err, ErrLastAdmin):
		jsonError(w, http.StatusConflict, "cannot remove the admin role from the last admin")
	default:
		a.opts.Logger.ErrorContext(r.Context(), "role change failed", slog.Any("error", err),
			slog.String("request_id", middleware.RequestIDFrom(r.Context())))
		jsonError(w, render.StatusOf(err), "the role change could not be saved; try again")
	}
}

func (a *Auth) listRoles(w http.ResponseWriter, r *http.Request) {
	id, ok := a.targetID(w, r)
	if !ok {
		return
	}
	u, err := a.Users.ByID(r.Context(), id)
	if err != nil {
		a.roleError(w, r, err)
		return
	}
	render.JSON(w, http.StatusOK, rolesResponse{UserID: id, Roles: u.Roles, Message: "roles retrieved"})
}

func (a *Auth) addRole(w http.ResponseWriter, r *http.Request) {
	id, ok := a.targetID(w, r)
	if !ok {
		return
	}
	var body struct {
		Role string `json:"role"`
	}
	if err := form.DecodeJSON(w, r, &body, 4096); err != nil {
		jsonError(w, http.StatusBadRequest, `body must be one JSON object like {"role": "editor"}, without other or repeated members`)
		return
	}
	roles, err := a.Users.AddRole(r.Context(), id, body.Role)
	if err != nil {
		a.roleError(w, r, err)
		return
	}
	a.auditRole(r, "role added", id, body.Role)
	a.renewIfSelf(r, id)
	render.JSON(w, http.StatusOK, rolesResponse{UserID: id, Roles: roles, Message: "role " + body.Role + " added"})
}

func (a *Auth) removeRole(w http.ResponseWriter, r *http.Request) {
	id, ok := a.targetID(w, r)
	if !ok {
		return
	}
	role := r.PathValue("role")
	roles, err := a.Users.RemoveRole(r.Context(), id, role)
	if err != nil {
		a.roleError(w, r, err)
		return
	}
	a.auditRole(r, "role removed", id, role)
	a.renewIfSelf(r, id)
	render.JSON(w, http.StatusOK, rolesResponse{UserID: id, Roles: roles, Message: "role " + role + " removed"})
}

func (a *Auth) auditRole(r *http.Request, msg string, target int64, role string) {
	actor := CurrentUser(r.Context())
	a.opts.Logger.InfoContext(r.Context(), msg, slog.String("audit", "roles"), slog.Int64("actor_id", actor.ID),
		slog.Int64("user_id", target), slog.String("role", role), slog.String("request_id", middleware.RequestIDFrom(r.Context())),
		slog.String("client_ip", middleware.ClientIPFrom(r).String()))
}

// renewIfSelf renews the session token when admins change their own
// privileges in this session.
func (a *Auth) renewIfSelf(r *http.Request, target int64) {
	ctx := r.Context()
	if u := CurrentUser(ctx); u != nil && u.ID == target && !ViaBearer(ctx) {
		if err := a.opts.Sessions.RenewToken(ctx); err != nil {
			a.opts.Logger.WarnContext(ctx, "renewing session after role change", slog.Any("error", err))
		}
	}
}
