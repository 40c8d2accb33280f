package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strconv"
)

// Listing is one paginated listing: what was asked, every page as received,
// and why paging stopped, so evidence can show the population it judged is
// complete.
type Listing struct {
	// Endpoint is "GET PATH".
	Endpoint string `json:"endpoint"`
	// Params are the query parameters besides page.
	Params map[string]string `json:"params,omitempty"`
	// Pages are the calls, one per page, each with its result byte for
	// byte (a failed last page included).
	Pages []Call `json:"pages"`
	// Items is the number of items the pages held.
	Items int `json:"items"`
	// Stop says why paging ended.
	Stop string `json:"stop"`
}

// ListOptions configure List.
type ListOptions struct {
	// PerPage is the page size asked for (default 100).
	PerPage int
	// Key names the array inside an object result (Workers deployments
	// are {"deployments": [...]}, versions {"items": [...]}); empty means
	// the result is the array.
	Key string
	// Continue, when set, is called with each page's items; returning false
	// stops paging there (the listing is newest first and the rest cannot
	// matter), with the reason recorded as the listing's Stop. It is not
	// called for an Unpaged listing.
	Continue func(page int, items []json.RawMessage) (bool, string)
	// Unpaged reads an endpoint Cloudflare does not paginate (Workers
	// deployments: cloudflare-go v4's ScriptDeploymentGetParams has no page
	// or per_page, and the answer has no result_info): one request, without
	// page or per_page (PerPage is ignored), whose answer is all Cloudflare
	// gives. Whether that is every item is the caller's to judge.
	Unpaged bool
}

// List reads a listing paginated with page and per_page, page after page
// until result_info.total_pages (or, without it, a page shorter than
// per_page), Continue says stop, or the client's page bound is reached
// (an error: pagination that does not end is not a population); with
// Unpaged, one request. Each item is returned exactly as received; a null
// where the array belongs is an error, not an empty listing. The Listing is
// filled in as far as it got, also on error.
func (c *Client) List(ctx context.Context, path string, params url.Values, o ListOptions) (*Listing, []json.RawMessage, error) {
	if o.PerPage <= 0 {
		o.PerPage = 100
	}
	l := &Listing{Endpoint: "GET " + path, Params: map[string]string{}, Pages: []Call{}}
	for k := range params {
		l.Params[k] = params.Get(k)
	}
	if o.Unpaged {
		return c.listUnpaged(ctx, l, path, params, o.Key)
	}
	l.Params["per_page"] = strconv.Itoa(o.PerPage)
	var out []json.RawMessage
	for page := 1; ; page++ {
		q := url.Values{}
		maps.Copy(q, params)
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(o.PerPage))
		call, err := c.Get(ctx, path, q)
		l.Pages = append(l.Pages, call)
		if err != nil {
			return l, nil, err
		}
		items, err := resultItems(call.Result, o.Key)
		if err != nil {
			return l, nil, &Error{Call: call, Err: fmt.Errorf("page %d: %w", page, err)}
		}
		l.Items += len(items)
		out = append(out, items...)
		if o.Continue != nil {
			if more, why := o.Continue(page, items); !more {
				l.Stop = why
				return l, out, nil
			}
		}
		ri := call.ResultInfo
		switch {
		case ri != nil && ri.TotalPages > 0:
			if page >= ri.TotalPages {
				l.Stop = fmt.Sprintf("last page (%d of %d, result_info.total_pages)", page, ri.TotalPages)
				return l, out, nil
			}
			if ri.TotalPages > c.maxPages {
				return l, nil, &Error{Call: call, Err: fmt.Errorf("result_info.total_pages is %d: more than the %d pages a listing may have", ri.TotalPages, c.maxPages)}
			}
		default:
			per := o.PerPage
			if ri != nil && ri.PerPage > 0 {
				per = ri.PerPage
			}
			if len(items) < per {
				l.Stop = fmt.Sprintf("last page (%d): %d items, fewer than per_page %d (no result_info.total_pages)", page, len(items), per)
				return l, out, nil
			}
		}
		if page >= c.maxPages {
			return l, nil, &Error{Call: call, Err: fmt.Errorf("pagination does not end after %d pages", page)}
		}
	}
}

// listUnpaged reads an unpaginated listing: one request, its items.
func (c *Client) listUnpaged(ctx context.Context, l *Listing, path string, params url.Values, key string) (*Listing, []json.RawMessage, error) {
	call, err := c.Get(ctx, path, params)
	l.Pages = append(l.Pages, call)
	if err != nil {
		return l, nil, err
	}
	items, err := resultItems(call.Result, key)
	if err != nil {
		return l, nil, &Error{Call: call, Err: err}
	}
	l.Items = len(items)
	l.Stop = fmt.Sprintf("one answer: the endpoint is not paginated (%d items)", len(items))
	return l, items, nil
}

// resultItems splits a listing's result into its items, each byte for byte.
func resultItems(result json.RawMessage, key string) ([]json.RawMessage, error) {
	if key != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(result, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("result is not an object holding %q", key)
		}
		inner, ok := obj[key]
		if !ok {
			return nil, fmt.Errorf("result has no %q", key)
		}
		result = inner
	}
	if bytes.Equal(bytes.TrimSpace(result), []byte("null")) {
		// null is no empty population: Cloudflare did not give the list.
		if key != "" {
			return nil, fmt.Errorf("result.%s is null, not an array", key)
		}
		return nil, fmt.Errorf("result is null, not an array")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(result, &items); err != nil {
		if key != "" {
			return nil, fmt.Errorf("result.%s is not an array", key)
		}
		return nil, fmt.Errorf("result is not an array")
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return items, nil
}
