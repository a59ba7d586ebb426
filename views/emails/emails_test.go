package emails_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"adpilot/views/emails"
)

const link = "https://adpilot.example.com/auth/verify?token=abc_DEF-123&next=%2Fsettings"

type rendered struct {
	name     string
	msg      emails.Message
	validity string
}

func renderAll(t *testing.T, name, tenant string) []rendered {
	t.Helper()
	verify, err := emails.Verify(emails.VerifyData{Name: name, TenantName: tenant, Link: link})
	if err != nil {
		t.Fatal(err)
	}
	reset, err := emails.ResetPassword(emails.ResetData{Name: name, Link: link})
	if err != nil {
		t.Fatal(err)
	}
	invite, err := emails.Invitation(emails.InvitationData{InviterName: name, TenantName: tenant, Role: "viewer", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	return []rendered{
		{"verify", verify, "48 hours"},
		{"reset", reset, "1 hour"},
		{"invitation", invite, "7 days"},
	}
}

func parse(t *testing.T, doc string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMessagesHaveSubjectLinkAndValidity(t *testing.T) {
	t.Parallel()
	for _, r := range renderAll(t, "Ada Lovelace", "Acme Ads") {
		t.Run(r.name, func(t *testing.T) {
			m := r.msg
			if strings.TrimSpace(m.Subject) == "" || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("subject %q: want one non-empty line", m.Subject)
			}
			if !strings.Contains(m.Text, link) {
				t.Errorf("the text part lacks the link:\n%s", m.Text)
			}
			if !strings.Contains(m.Text, r.validity) || !strings.Contains(m.HTML, r.validity) {
				t.Errorf("validity %q is not mentioned in both parts:\n%s", r.validity, m.Text)
			}
			if strings.Contains(m.Text, "<") || strings.Contains(m.Text, "&amp;") {
				t.Errorf("the text part holds markup or entities:\n%s", m.Text)
			}
			if !strings.HasPrefix(m.HTML, "<!doctype html>") {
				t.Errorf("the HTML part is not a document: %.60s", m.HTML)
			}
			doc := parse(t, m.HTML)
			if got := doc.Find("title").Text(); got != m.Subject {
				t.Errorf("<title> = %q, want the subject %q", got, m.Subject)
			}
			hrefs := doc.Find("a[href]").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("href", "") })
			if len(hrefs) == 0 {
				t.Fatal("the HTML part has no link")
			}
			for _, h := range hrefs {
				if h != link {
					t.Errorf("link href = %q, want %q", h, link)
				}
			}
			if !strings.Contains(doc.Text(), link) {
				t.Error("the HTML part does not show the link as text for clients that hide buttons")
			}
			if doc.Find("script, style, link").Length() != 0 {
				t.Error("the HTML part holds script, style or link elements")
			}
		})
	}
}

func TestMessagesEscapeNames(t *testing.T) {
	t.Parallel()
	const name = "Eve <b>&amp;co"
	const tenant = `Evil "Tenant" <script>alert(1)</script>`
	for _, r := range renderAll(t, name, tenant) {
		t.Run(r.name, func(t *testing.T) {
			m := r.msg
			if strings.Contains(m.HTML, "<b>") || strings.Contains(m.HTML, "<script>") {
				t.Errorf("the HTML part holds unescaped markup from a name:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "Eve &lt;b&gt;&amp;amp;co") {
				t.Errorf("the HTML part does not show the escaped name:\n%s", m.HTML)
			}
			if r.name != "reset" && !strings.Contains(m.HTML, "&lt;script&gt;") {
				t.Errorf("the HTML part does not show the escaped tenant name:\n%s", m.HTML)
			}
			if parse(t, m.HTML).Find("b, script").Length() != 0 {
				t.Error("a name became an element")
			}
			// The plain-text part shows names literally, not as entities.
			if !strings.Contains(m.Text, name) {
				t.Errorf("the text part does not show %q literally:\n%s", name, m.Text)
			}
			if r.name != "reset" && !strings.Contains(m.Text, tenant) {
				t.Errorf("the text part does not show %q literally:\n%s", tenant, m.Text)
			}
			if strings.Contains(m.Text, "&lt;") || strings.Contains(m.Text, "&#34;") {
				t.Errorf("the text part shows entities:\n%s", m.Text)
			}
		})
	}
}

func TestVerifyGreetsByName(t *testing.T) {
	t.Parallel()
	m, err := emails.Verify(emails.VerifyData{Name: "Bob <b>&", TenantName: "Acme", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "Hi Bob <b>&,\n") {
		t.Errorf("text greeting: %q", strings.SplitN(m.Text, "\n", 2)[0])
	}
	if !strings.Contains(m.HTML, "Hi Bob &lt;b&gt;&amp;,") {
		t.Error("the HTML greeting is not escaped")
	}
	anon, err := emails.Verify(emails.VerifyData{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(anon.Text, "Hi,\n") {
		t.Errorf("greeting without a name: %q", strings.SplitN(anon.Text, "\n", 2)[0])
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	m, err := emails.Invitation(emails.InvitationData{InviterName: "Mallory\r\nBcc: victim@example.com", TenantName: "Acme", Role: "admin", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject %q spans lines", m.Subject)
	}
}

func TestInvitationNamesRole(t *testing.T) {
	t.Parallel()
	for role, want := range map[string]string{"admin": "an admin", "user": "a user", "viewer": "a viewer"} {
		m, err := emails.Invitation(emails.InvitationData{InviterName: "Ann", TenantName: "Acme", Role: role, Link: link})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "as "+want) || !strings.Contains(m.HTML, "as "+want) {
			t.Errorf("role %s: want %q in both parts:\n%s", role, want, m.Text)
		}
		if !strings.Contains(m.Subject, "Ann") || !strings.Contains(m.Subject, "Acme") {
			t.Errorf("subject %q names neither inviter nor tenant", m.Subject)
		}
	}
}

func TestUnsafeLinkIsNeutralised(t *testing.T) {
	t.Parallel()
	m, err := emails.ResetPassword(emails.ResetData{Link: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if parse(t, m.HTML).Find(`a[href^="javascript:"]`).Length() != 0 {
		t.Error("a javascript: link reached an href")
	}
}
