package xpilot

// textResult replaces the key in a decoded text answer, so it can never
// reach the state, the report or an output, and marks the result
// Redacted when it did. An error passes through.
func (s scrubber) textResult(r *TextResult, err error) (*TextResult, error) {
	if err != nil || r == nil || s.key == "" {
		return r, err
	}
	if clean := s.str(r.Content); clean != r.Content {
		r.Content, r.Redacted = clean, true
	}
	if clean := s.str(r.Model); clean != r.Model {
		r.Model, r.Redacted = clean, true
	}
	return r, nil
}

// task replaces the key in every text of a decoded task answer and marks
// it Redacted when it did. A poll URL or output URL holding the key would
// no longer work; xpflow still never records the key.
func (s scrubber) task(t *Task, err error) (*Task, error) {
	if err != nil || t == nil || s.key == "" {
		return t, err
	}
	for _, f := range []*string{&t.TaskID, &t.Status, &t.Provider, &t.PollURL, &t.Error} {
		if clean := s.str(*f); clean != *f {
			*f, t.Redacted = clean, true
		}
	}
	for i, o := range t.Outputs {
		if clean := s.str(o); clean != o {
			t.Outputs[i], t.Redacted = clean, true
		}
	}
	return t, nil
}
