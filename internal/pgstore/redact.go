package pgstore

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// redactor removes a connection string's secrets from error messages.
type redactor struct {
	secrets []string // the password and the whole connection string
}

func newRedactor(conn, password string) redactor {
	var r redactor
	for _, s := range []string{conn, password, url.QueryEscape(password), url.PathEscape(password)} {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// passwordPattern matches a password in a keyword/value or URL connection
// string, for messages about a string that does not even parse.
var passwordPattern = regexp.MustCompile("(?i)(password\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'|[^\\s'`]+)|(://[^:/@\\s]*:)([^@\\s]*)(@)")

// Redact returns s with any password of a connection string replaced by
// "xxxxx".
func Redact(s string) string {
	return passwordPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := passwordPattern.FindStringSubmatch(m)
		if sub[1] != "" {
			return sub[1] + "xxxxx"
		}
		return sub[3] + "xxxxx" + sub[5]
	})
}

// err returns err with the secrets removed from its message; nil stays nil.
func (r redactor) err(err error) error {
	if err == nil {
		return nil
	}
	msg := Redact(err.Error())
	for _, s := range r.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError keeps the cause for errors.Is/As while its message holds
// no secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is and As reach the cause, but Unwrap is not offered: a caller that
// prints an unwrapped cause would print the secret.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e *redactedError) As(target any) bool   { return errors.As(e.err, target) }
