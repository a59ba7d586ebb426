package testutil

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"adpilot/models"
)

// LatestEmail returns the newest outbox email to address, waiting up to 5 s
// for one (some emails are queued after the response), failing the test
// when none comes.
func LatestEmail(t testing.TB, store *models.Store, to string) models.OutboxEmail {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, _, err := store.ListOutbox(context.Background(), models.OutboxFilter{Search: to, Limit: 1})
		if err != nil {
			t.Fatalf("reading the outbox: %v", err)
		}
		if len(list) > 0 {
			return list[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s in the outbox", to)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var linkPattern = regexp.MustCompile(`https?://[^\s"'<>]+`)

// LinkIn returns the first link in text whose path contains pathPart.
func LinkIn(t testing.TB, text, pathPart string) string {
	t.Helper()
	for _, link := range linkPattern.FindAllString(text, -1) {
		if regexp.MustCompile(regexp.QuoteMeta(pathPart)).MatchString(link) {
			return link
		}
	}
	t.Fatalf("no link containing %q in:\n%s", pathPart, text)
	return ""
}

// EmailAbout waits (up to 5 s) for the newest email to `to` whose subject
// contains subjectPart: some emails are queued after the answer that
// caused them.
func EmailAbout(t testing.TB, store *models.Store, to, subjectPart string) models.OutboxEmail {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, _, err := store.ListOutbox(context.Background(), models.OutboxFilter{Search: to, Limit: 20})
		if err != nil {
			t.Fatalf("reading the outbox: %v", err)
		}
		for _, e := range list {
			if strings.Contains(strings.ToLower(e.Subject), strings.ToLower(subjectPart)) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s about %q in the outbox", to, subjectPart)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
