package handlers

import (
	"net/url"
	"strconv"
)

// pageNumber reads ?page=, 1 when missing or nonsense.
func pageNumber(q url.Values) int {
	page, _ := strconv.Atoi(q.Get("page"))
	return max(page, 1)
}

// pager returns the links to the previous and next pages of a list ("" at
// either end), keeping the list's filters in the URL.
func pager(base string, filters url.Values, page, pageSize, total int) (prev, next string) {
	link := func(n int) string {
		v := url.Values{}
		for k, vals := range filters {
			if len(vals) > 0 && vals[0] != "" {
				v.Set(k, vals[0])
			}
		}
		v.Set("page", strconv.Itoa(n))
		return base + "?" + v.Encode()
	}
	if page > 1 {
		prev = link(page - 1)
	}
	if page*pageSize < total {
		next = link(page + 1)
	}
	return prev, next
}
