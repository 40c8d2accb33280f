package s3store

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/changeproof/changeproof/storage"
)

// URL schemes of this package's backends.
const (
	SchemeS3 = "s3"
	SchemeR2 = "r2"
)

// Location is a parsed s3:// or r2:// store URL.
type Location struct {
	// Scheme is SchemeS3 or SchemeR2.
	Scheme string
	// Account is the Cloudflare account ID (r2:// only).
	Account string
	// Bucket is the bucket name.
	Bucket string
	// Prefix is prepended to every key: empty, or ending in '/'.
	Prefix string
	// Region is the signing region: from ?region=, else (s3://) the AWS
	// configuration; always "auto" for r2://.
	Region string
	// Endpoint is a custom S3 endpoint (?endpoint=), e.g. an S3-compatible
	// server; empty means AWS's own. For r2:// it defaults to
	// https://ACCOUNT.r2.cloudflarestorage.com.
	Endpoint string
	// PathStyle addresses the bucket in the URL path rather than the host
	// name: ?path_style=, by default true with a custom endpoint and for R2.
	PathStyle bool
	// Profile is the AWS shared-configuration profile (?profile=) to take
	// credentials and settings from; empty means the default chain.
	Profile string
}

var (
	// bucketRE is S3's bucket naming rule (also R2's): 3 to 63 lower-case
	// letters, digits, dots and hyphens, starting and ending with a letter
	// or digit.
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// accountRE is a Cloudflare account ID: 32 hexadecimal digits.
	accountRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// regionRE is a plausible region name, so it can go into a host name.
	regionRE = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
	// hostRE is an endpoint's host[:port]: a DNS name or IPv4 address, or
	// an IPv6 address in brackets.
	hostRE = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)
)

// ParseURL parses an s3:// or r2:// store URL:
//
//	s3://BUCKET[/PREFIX][?region=REGION][&endpoint=URL][&path_style=true|false][&profile=NAME]
//	r2://ACCOUNT/BUCKET[/PREFIX][?endpoint=URL][&profile=NAME]
//
// A URL must not hold credentials, and unknown parameters are errors. Errors
// never repeat the URL, which might hold a secret by mistake; they name the
// part that is wrong.
func ParseURL(raw string) (Location, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != SchemeS3 && scheme != SchemeR2) {
		return Location{}, fmt.Errorf("store URL: want s3://BUCKET/PREFIX or r2://ACCOUNT/BUCKET/PREFIX, got scheme %q", scheme)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("%s:// store URL does not parse (%s)", scheme, describeParseError(err))
	}
	if u.User != nil {
		return Location{}, fmt.Errorf("%s:// store URL holds credentials: remove them; credentials come from the AWS credential chain (environment, shared config, instance role)", scheme)
	}
	if u.Fragment != "" || strings.Contains(rest, "#") {
		return Location{}, fmt.Errorf("%s:// store URL has a #fragment; remove it", scheme)
	}
	loc := Location{Scheme: scheme}
	path := strings.TrimPrefix(u.Path, "/")
	if scheme == SchemeS3 {
		loc.Bucket = u.Host
	} else {
		loc.Account = u.Host
		loc.Bucket, path, _ = strings.Cut(path, "/")
		if !accountRE.MatchString(loc.Account) {
			return Location{}, fmt.Errorf("r2:// store URL: account %q is not a Cloudflare account ID (32 hexadecimal digits): use r2://ACCOUNT/BUCKET/PREFIX", loc.Account)
		}
	}
	if !bucketRE.MatchString(loc.Bucket) || strings.Contains(loc.Bucket, "..") {
		return Location{}, fmt.Errorf("%s:// store URL: %q is not a valid bucket name (3-63 lower-case letters, digits, dots and hyphens)", scheme, loc.Bucket)
	}
	if path != "" {
		prefix := strings.TrimSuffix(path, "/")
		if err := storage.ValidateKey(prefix); err != nil {
			return Location{}, fmt.Errorf("%s://%s: prefix %q: %w", scheme, loc.Bucket, path, err)
		}
		loc.Prefix = prefix + "/"
	}
	q := u.Query()
	known := []string{"endpoint", "profile"}
	if scheme == SchemeS3 {
		known = append(known, "region", "path_style")
	}
	for name, vals := range q {
		if !slices.Contains(known, name) {
			return Location{}, fmt.Errorf("%s://%s: unknown URL parameter %q (known: %s)", scheme, loc.Bucket, name, strings.Join(known, ", "))
		}
		if len(vals) != 1 {
			return Location{}, fmt.Errorf("%s://%s: URL parameter %q given %d times", scheme, loc.Bucket, name, len(vals))
		}
	}
	loc.Profile = q.Get("profile")
	if ep := q.Get("endpoint"); ep != "" {
		e, err := url.Parse(ep)
		switch {
		case err != nil:
			return Location{}, fmt.Errorf("%s://%s: endpoint does not parse (%s)", scheme, loc.Bucket, describeParseError(err))
		case e.User != nil:
			return Location{}, fmt.Errorf("%s://%s: endpoint holds credentials: remove them", scheme, loc.Bucket)
		case (e.Scheme != "http" && e.Scheme != "https") || !hostRE.MatchString(e.Host):
			return Location{}, fmt.Errorf("%s://%s: endpoint %q is not an http:// or https:// URL", scheme, loc.Bucket, e.Redacted())
		case e.RawQuery != "" || e.Fragment != "" || strings.Trim(e.Path, "/") != "":
			return Location{}, fmt.Errorf("%s://%s: endpoint %q must be a bare scheme://host[:port]", scheme, loc.Bucket, e.Redacted())
		}
		loc.Endpoint = e.Scheme + "://" + e.Host
	}
	switch scheme {
	case SchemeS3:
		loc.Region = q.Get("region")
		if loc.Region != "" && !regionRE.MatchString(loc.Region) {
			return Location{}, fmt.Errorf("s3://%s: region %q is not a region name", loc.Bucket, loc.Region)
		}
		loc.PathStyle = loc.Endpoint != ""
		if ps := q.Get("path_style"); ps != "" {
			b, err := strconv.ParseBool(ps)
			if err != nil {
				return Location{}, fmt.Errorf("s3://%s: path_style=%q: want true or false", loc.Bucket, ps)
			}
			loc.PathStyle = b
		}
	case SchemeR2:
		loc.Region = "auto"
		loc.PathStyle = true
		if loc.Endpoint == "" {
			loc.Endpoint = "https://" + loc.Account + ".r2.cloudflarestorage.com"
		}
	}
	return loc, nil
}

// describeParseError returns what url.Parse objected to, without the URL.
func describeParseError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return "malformed URL"
}

// String returns the URL in its canonical form, which Describe reports: it
// names the region, endpoint and profile in use and never holds
// credentials.
func (l Location) String() string {
	var b strings.Builder
	b.WriteString(l.Scheme + "://")
	if l.Scheme == SchemeR2 {
		b.WriteString(l.Account + "/")
	}
	b.WriteString(l.Bucket + "/" + l.Prefix)
	// Built by hand, not with url.Values, so the endpoint stays readable;
	// every value is checked by ParseURL or escaped here.
	var q []string
	switch l.Scheme {
	case SchemeS3:
		if l.Region != "" {
			q = append(q, "region="+url.QueryEscape(l.Region))
		}
		if l.Endpoint != "" {
			q = append(q, "endpoint="+l.Endpoint)
		}
		if l.PathStyle != (l.Endpoint != "") {
			q = append(q, "path_style="+strconv.FormatBool(l.PathStyle))
		}
	case SchemeR2:
		if l.Endpoint != "https://"+l.Account+".r2.cloudflarestorage.com" {
			q = append(q, "endpoint="+l.Endpoint)
		}
	}
	if l.Profile != "" {
		q = append(q, "profile="+url.QueryEscape(l.Profile))
	}
	if len(q) > 0 {
		b.WriteString("?" + strings.Join(q, "&"))
	}
	return b.String()
}
