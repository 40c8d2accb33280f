package s3store

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// errorCode returns the S3 error code of an API error ("NoSuchKey",
// "PreconditionFailed"), or "" for other errors.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status of the answer behind err, or 0 when
// there was no answer.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// transient reports whether err means the store could not be reached or
// refused for a reason that may pass: no answer at all (a network failure,
// a timeout), a 5xx answer other than 501 Not Implemented, 429, or an S3
// throttling or timeout code such as 503 SlowDown. Other answers are
// permanent. A host name that does not exist (NXDOMAIN) is a configuration
// error, not an outage.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	if status := httpStatus(err); status != 0 {
		if status == 429 || (status >= 500 && status != 501) {
			return true
		}
		code := errorCode(err)
		_, throttled := retry.DefaultThrottleErrorCodes[code]
		_, retryable := retry.DefaultRetryableErrorCodes[code]
		return throttled || retryable || code == "ConditionalRequestConflict"
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	switch {
	case errors.As(err, &sendErr), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}
