package s3store

import (
	"errors"
	"fmt"
	"net"
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
	// server; empty means AWS's own (or, once opened, the endpoint the AWS
	// configuration names). For r2:// it defaults to
	// https://ACCOUNT.r2.cloudflarestorage.com and may only be
	// https://ACCOUNT.JURISDICTION.r2.cloudflarestorage.com or a loopback
	// test server.
	Endpoint string
	// Jurisdiction is the R2 jurisdiction ("eu", "fedramp") the r2://
	// endpoint names; empty for the default one. The lock rules of a bucket
	// in a jurisdiction are read with the cf-r2-jurisdiction header.
	Jurisdiction string
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
	// schemeRE is a URL scheme, safe to repeat in a message.
	schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,15}$`)
	// hostRE is an endpoint's host[:port]: a DNS name or IPv4 address, or
	// an IPv6 address in brackets.
	hostRE = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)
)

// ParseURL parses an s3:// or r2:// store URL:
//
//	s3://BUCKET[/PREFIX][?region=REGION][&endpoint=URL][&path_style=true|false][&profile=NAME]
//	r2://ACCOUNT/BUCKET[/PREFIX][?endpoint=URL][&profile=NAME]
//
// A URL must not hold credentials: it is refused if its bucket and prefix
// part, or its endpoint, contains '@'. Unknown parameters and a query that
// does not parse (a bad %-escape, ';' separators) are errors. An endpoint
// is a bare https://host[:port], or http:// to a loopback host (127.0.0.0/8,
// ::1, localhost) only. An r2:// endpoint must be the account's own R2
// endpoint (see Location.Jurisdiction) or a loopback one (tests). Errors
// never repeat the URL, which might hold a secret by mistake; they name the
// part that is wrong.
func ParseURL(raw string) (Location, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != SchemeS3 && scheme != SchemeR2) {
		got := "no scheme://"
		switch {
		case ok && schemeRE.MatchString(scheme):
			got = fmt.Sprintf("scheme %q", scheme)
		case ok:
			got = "something else before ://"
		}
		return Location{}, fmt.Errorf("store URL: want s3://BUCKET/PREFIX or r2://ACCOUNT/BUCKET/PREFIX, got %s", got)
	}
	// Userinfo is refused before the URL is parsed: a secret holding '/'
	// would otherwise be taken for a host and a path, and end up in the
	// messages about them.
	// So is a ':' right after "://": no bucket name or account ID holds
	// one, and "KEY:SECRET" is how credentials would start.
	const fromChain = "credentials come from the AWS credential chain (environment, shared config, instance role)"
	if base, _, _ := strings.Cut(rest, "?"); strings.Contains(base, "@") {
		return Location{}, fmt.Errorf("%s:// store URL holds credentials (it contains '@', which bucket names and store prefixes may not): remove them; %s", scheme, fromChain)
	}
	if host := rest[:strings.IndexAny(rest+"/", "/?#")]; strings.Contains(host, ":") {
		return Location{}, fmt.Errorf("%s:// store URL: the part after %s:// holds ':', which no bucket name or account ID does: if it holds credentials, remove them; %s", scheme, scheme, fromChain)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("%s:// store URL does not parse (%s)", scheme, describeParseError(err))
	}
	if u.User != nil {
		return Location{}, fmt.Errorf("%s:// store URL holds credentials: remove them; %s", scheme, fromChain)
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
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// ParseQuery's errors quote at most a bad three-character escape.
		return Location{}, fmt.Errorf("%s://%s: the URL parameters do not parse (%v); separate them with '&'", scheme, loc.Bucket, err)
	}
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
		if loc.Endpoint, err = checkEndpoint(ep, "endpoint"); err != nil {
			return Location{}, fmt.Errorf("%s://%s: %w", scheme, loc.Bucket, err)
		}
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
			loc.Endpoint = r2Endpoint(loc.Account, "")
		} else if loc.Endpoint, loc.Jurisdiction, err = checkR2Endpoint(loc.Endpoint, loc.Account); err != nil {
			return Location{}, fmt.Errorf("r2://%s/%s: %w", loc.Account, loc.Bucket, err)
		}
	}
	return loc, nil
}

// R2 jurisdictions other than the default, as the Cloudflare API names
// them in the cf-r2-jurisdiction header and R2 in its endpoint host names.
var r2Jurisdictions = []string{"eu", "fedramp"}

// r2Endpoint is the S3 endpoint of an R2 account in a jurisdiction ("" for
// the default one).
func r2Endpoint(account, jurisdiction string) string {
	if jurisdiction == "" {
		return "https://" + account + ".r2.cloudflarestorage.com"
	}
	return "https://" + account + "." + jurisdiction + ".r2.cloudflarestorage.com"
}

// checkR2Endpoint accepts, for account, its R2 endpoint in the default
// jurisdiction or in one of r2Jurisdictions (returning the jurisdiction),
// or a loopback endpoint (a test server). Any other host would let the
// lock rules be read for one bucket while the evidence goes to another.
func checkR2Endpoint(endpoint, account string) (string, string, error) {
	e, err := url.Parse(endpoint) // checked by checkEndpoint already
	if err != nil {
		return "", "", err
	}
	if loopback(e.Hostname()) {
		return endpoint, "", nil
	}
	if e.Scheme == "https" {
		lower := strings.ToLower(endpoint)
		if lower == r2Endpoint(account, "") {
			return lower, "", nil
		}
		for _, j := range r2Jurisdictions {
			if lower == r2Endpoint(account, j) {
				return lower, j, nil
			}
		}
	}
	return "", "", fmt.Errorf("endpoint %q is not this account's R2 endpoint: want %s, or %s for a jurisdiction (%s), so that the bucket whose lock rules are checked is the one written to",
		endpoint, r2Endpoint(account, ""), r2Endpoint(account, "JURISDICTION"), strings.Join(r2Jurisdictions, ", "))
}

// checkEndpoint checks an S3 endpoint URL (what names where it comes from)
// and returns it as scheme://host[:port]: no credentials, a bare http:// or
// https:// URL, and http:// only to a loopback host, since plain http would
// expose the requests (and what they carry) on the network. Its errors
// never repeat credentials.
func checkEndpoint(raw, what string) (string, error) {
	if strings.Contains(raw, "@") {
		return "", fmt.Errorf("%s holds credentials (it contains '@'): remove them; credentials come from the AWS credential chain", what)
	}
	e, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s does not parse (%s)", what, describeParseError(err))
	case e.User != nil:
		return "", fmt.Errorf("%s holds credentials: remove them", what)
	case (e.Scheme != "http" && e.Scheme != "https") || !hostRE.MatchString(e.Host):
		return "", fmt.Errorf("%s %q is not an http:// or https:// URL", what, e.Redacted())
	case e.RawQuery != "" || e.Fragment != "" || e.Opaque != "" || strings.Trim(e.Path, "/") != "":
		return "", fmt.Errorf("%s %q must be a bare scheme://host[:port]", what, e.Redacted())
	case e.Scheme == "http" && !loopback(e.Hostname()):
		return "", fmt.Errorf("%s %q uses plain http to a host that is not loopback: use https (http is allowed only to 127.0.0.0/8, ::1 and localhost, for tests)", what, e.Redacted())
	}
	return e.Scheme + "://" + e.Host, nil
}

// loopback reports whether host (without port or brackets) is this
// machine: localhost, 127.0.0.0/8 or ::1.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// describeParseError says what url.Parse objected to, in words of its own:
// url.Parse's messages quote the part they reject (a port, a host, an
// escape), which may be a piece of a secret.
func describeParseError(err error) string {
	var esc url.EscapeError
	var host url.InvalidHostError
	switch {
	case errors.As(err, &esc):
		return "a bad %-escape"
	case errors.As(err, &host):
		return "an invalid character in the host name"
	case strings.Contains(err.Error(), "invalid port"):
		return "an invalid port"
	case strings.Contains(err.Error(), "invalid userinfo"):
		return "invalid credentials part"
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
		if l.Endpoint != r2Endpoint(l.Account, "") {
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
