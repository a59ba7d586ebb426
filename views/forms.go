package views

// Field is one labelled form input with its validation message.
type Field struct {
	Name         string
	Label        string
	Type         string // text, email, password
	Value        string
	Error        string
	Hint         string
	Autocomplete string
	Required     bool
	MaxLength    int
	List         string // id of a <datalist> of suggestions
}

// ErrorID is the id of the field's message, for aria-describedby.
func (f Field) ErrorID() string { return f.Name + "-error" }

func (f Field) inputAttrs() map[string]any {
	attrs := map[string]any{}
	if f.Autocomplete != "" {
		attrs["autocomplete"] = f.Autocomplete
	}
	if f.Required {
		attrs["required"] = true
	}
	if f.List != "" {
		attrs["list"] = f.List
	}
	if f.MaxLength > 0 {
		attrs["maxlength"] = f.MaxLength
	}
	if f.Error != "" {
		attrs["aria-invalid"] = "true"
		attrs["aria-describedby"] = f.ErrorID()
	}
	return attrs
}
