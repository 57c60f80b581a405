package views

// NavLink is one link of the header's navigation.
type NavLink struct {
	Label string
	Href  string
}

// Nav is the header's navigation.
var Nav = []NavLink{
	{Label: "Home", Href: "/"},
	// trellis:nav
}
