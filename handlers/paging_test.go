package handlers

import (
	"net/url"
	"testing"
)

func TestPager(t *testing.T) {
	filters := url.Values{"status": {"failed"}, "q": {""}}
	cases := []struct {
		page, total int
		prev, next  string
	}{
		{1, 10, "", ""},
		{1, 51, "", "/x?page=2&status=failed"},
		{2, 120, "/x?page=1&status=failed", "/x?page=3&status=failed"},
		{3, 120, "/x?page=2&status=failed", ""},
	}
	for _, tc := range cases {
		prev, next := pager("/x", filters, tc.page, 50, tc.total)
		if prev != tc.prev || next != tc.next {
			t.Errorf("page %d of %d: prev %q next %q, want %q %q", tc.page, tc.total, prev, next, tc.prev, tc.next)
		}
	}
	if pageNumber(url.Values{"page": {"-4"}}) != 1 || pageNumber(url.Values{"page": {"x"}}) != 1 || pageNumber(url.Values{"page": {"3"}}) != 3 {
		t.Error("pageNumber does not default bad values to 1")
	}
}
