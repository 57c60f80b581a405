package views

import (
	"strconv"
	"time"

	"github.com/trellis-go/trellis/authz"
)

// Note is one note as shown.
type Note struct {
	ID        int64
	OwnerID   int64
	Title     string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NotesView is the notes list.
type NotesView struct {
	Notes   []Note
	Total   int
	Q       string
	Page    int
	MoreURL string
}

// Resource describes the note to the policies (policies/notes.cedar).
func (n Note) Resource() authz.Resource {
	return authz.Resource{Type: "Note", ID: strconv.FormatInt(n.ID, 10), Attrs: map[string]any{"owner": authz.User(n.OwnerID)}, Value: &n}
}

func noteURL(id int64) string { return "/notes/" + strconv.FormatInt(id, 10) }

func noteID(id int64) string { return "note-" + strconv.FormatInt(id, 10) }

func cardID(id int64) string { return "note-card-" + strconv.FormatInt(id, 10) }

func countText(n int) string {
	if n == 1 {
		return "1 note"
	}
	return strconv.Itoa(n) + " notes"
}

func stamp(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04") }

func excerpt(s string) string {
	r := []rune(s)
	if len(r) > 80 {
		return string(r[:77]) + "…"
	}
	return s
}
