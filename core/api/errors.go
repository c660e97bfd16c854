package api

import (
	"fmt"
	"net/http"
)

// Error codes: the "code" field of an error response.
const (
	CodeNotFound         = "not_found"          // 404: no such route
	CodeMethodNotAllowed = "method_not_allowed" // 405: see the Allow header
	CodeUnknownParameter = "unknown_parameter"  // 400: a query parameter the route does not take
	CodeBadParameter     = "bad_parameter"      // 400: a query value that does not parse or is out of range
	CodeUnknownModel     = "unknown_model"      // 404 on /api/models/{id}, 400 as ?model=
	CodeUnknownMethod    = "unknown_method"     // 400
	CodeMethodDisabled   = "method_disabled"    // 400: a slow method this server does not run
	CodeUnknownClass     = "unknown_class"      // 400
	CodeUnknownLayer     = "unknown_layer"      // 400
	CodeBadCrop          = "bad_crop"           // 400: malformed, or outside the image
	CodeUnsupportedType  = "unsupported_media_type"
	CodeUnsupportedImage = "unsupported_image" // 415: the bytes are not an image format the API decodes
	CodeBadImage         = "bad_image"         // 400: a known format, but corrupt or truncated
	CodeEmptyBody        = "empty_body"        // 400
	CodeMissingImage     = "missing_image"     // 400: multipart body without an "image" part
	CodeBadMultipart     = "bad_multipart"     // 400
	CodeBodyTooLarge     = "body_too_large"    // 413
	CodeImageTooLarge    = "image_too_large"   // 413: too many pixels (from the header)
	CodeExplainFailed    = "explain_failed"    // 400: the explanation does not apply to this request
	CodeCanceled         = "canceled"          // 503: the client went away or the request timed out
	CodeModelUnavailable = "model_unavailable" // 500: the model file does not load
	CodeInternal         = "internal"          // 500: a bug (a recovered panic)
	CodeUnavailable      = "unavailable"       // 503: the host's setup failed (see Failed)
)

// Error is an API error: an HTTP status, a stable code and a message for
// people. It is the JSON body of every error response.
type Error struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badParam(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, CodeBadParameter, format, args...)
}
