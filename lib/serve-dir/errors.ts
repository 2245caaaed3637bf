import createError from '@fastify/error'

/** A plugin option is missing, of the wrong type or out of range; fails `register`/`ready`. */
export const InvalidOptionError = createError<[string, string]>(
  'FST_SERVE_DIR_INVALID_OPTION',
  'Invalid serve-dir option "%s": %s',
  500,
  TypeError
)

/** `root` does not exist or is not a directory; fails `register`/`ready`. */
export const InvalidRootError = createError<[string, string]>(
  'FST_SERVE_DIR_INVALID_ROOT',
  'Invalid serve-dir root "%s": %s'
)

/** The request path cannot be decoded or holds a segment no file name can have. */
export const BadPathError = createError<[string]>(
  'FST_SERVE_DIR_BAD_PATH',
  'Bad request path: %s',
  400
)

/** Nothing is served at this path (missing, hidden, outside the root, or not a regular file). */
export const NotFoundError = createError(
  'FST_SERVE_DIR_NOT_FOUND',
  'Not found',
  404
)

/** The file or folder exists but the server process may not read it. */
export const ForbiddenError = createError(
  'FST_SERVE_DIR_FORBIDDEN',
  'Permission denied',
  403
)

/** Only GET and HEAD are served. */
export const MethodNotAllowedError = createError<[string]>(
  'FST_SERVE_DIR_METHOD_NOT_ALLOWED',
  'Method %s not allowed: only GET and HEAD are served',
  405
)

/** A listing query parameter (`offset`, `limit`) is not usable. */
export const BadQueryError = createError<[string, string]>(
  'FST_SERVE_DIR_BAD_QUERY',
  'Bad query parameter "%s": %s',
  400
)

/** `?download=` on a server whose folder downloads are turned off. */
export const ArchivesOffError = createError(
  'FST_SERVE_DIR_ARCHIVES_OFF',
  'Folder downloads are turned off on this server',
  403
)

/** The folder holds more than one archive may. */
export const ArchiveTooLargeError = createError<[string]>(
  'FST_SERVE_DIR_ARCHIVE_TOO_LARGE',
  'Folder too large to download as one archive: %s',
  403
)

/**
 * The client went away while its answer was being made: the work stops. Never seen by anyone;
 * the request's log line says 499, as nginx's does.
 */
export const ClientGoneError = createError(
  'FST_SERVE_DIR_CLIENT_GONE',
  'The client closed the request',
  499
)

/** Too many big listings or archives are being made: 503 with `Retry-After`. */
export const TooBusyError = createError<[string]>(
  'FST_SERVE_DIR_TOO_BUSY',
  'Too many %s in progress; try again shortly',
  503
)

/** A write the upload policy refuses: outside the upload paths, a hidden or reserved name, a link, another site. */
export const WriteForbiddenError = createError<[string]>(
  'FST_SERVE_DIR_WRITE_FORBIDDEN',
  'Upload refused: %s',
  403
)

/** Live reload's event stream asked for by another site's page, or under a name that is not this machine's. */
export const CrossSiteError = createError<[string]>(
  'FST_SERVE_DIR_CROSS_SITE',
  'Refused: %s',
  403
)

/** An upload's name is taken (and may not be replaced), or a folder or file is in the way. */
export const ConflictError = createError<[string]>(
  'FST_SERVE_DIR_CONFLICT',
  'Upload conflict: %s',
  409
)

/** `If-Match` / `If-None-Match` of an upload do not hold. */
export const PreconditionFailedError = createError<[string]>(
  'FST_SERVE_DIR_PRECONDITION_FAILED',
  'Precondition failed: %s',
  412
)

/** An upload is bigger than `uploads.maxBytes`. */
export const PayloadTooLargeError = createError<[number]>(
  'FST_SERVE_DIR_PAYLOAD_TOO_LARGE',
  'Upload too large: the limit is %d bytes',
  413
)

/** The disk would keep less than `uploads.minFreeBytes` free. */
export const InsufficientStorageError = createError(
  'FST_SERVE_DIR_INSUFFICIENT_STORAGE',
  'Not enough free disk space for this upload',
  507
)

/** No byte of an upload arrived for `uploads.idleTimeout`: cut, and nothing kept. */
export const UploadTimeoutError = createError(
  'FST_SERVE_DIR_UPLOAD_TIMEOUT',
  'Upload stalled: no data arrived in time',
  408
)

/** A request for the upload form that is not a form upload. */
export const BadUploadError = createError<[string]>(
  'FST_SERVE_DIR_BAD_UPLOAD',
  'Bad upload: %s',
  400
)

/** A login is required, and none (or a wrong one) was given: the same answer whatever was wrong. */
export const LoginRequiredError = createError(
  'FST_SERVE_DIR_LOGIN_REQUIRED',
  'Login required',
  401
)

/** Too many failed logins from one address in the last minute. */
export const TooManyLoginsError = createError(
  'FST_SERVE_DIR_TOO_MANY_LOGINS',
  'Too many failed logins: try again in a minute',
  429
)

/** One address already has its share of the password checks running or waiting. */
export const LoginsPendingError = createError(
  'FST_SERVE_DIR_LOGINS_PENDING',
  'Too many logins from this address in progress: try again shortly',
  429
)

/** An upload brought less than `uploads.minRate` bytes a second over one `uploads.idleTimeout`: cut, and nothing kept. */
export const UploadTooSlowError = createError<[number]>(
  'FST_SERVE_DIR_UPLOAD_TOO_SLOW',
  'Upload too slow: less than %d bytes a second arrived',
  408
)

/** One client address has `uploads.maxPerClient` uploads under way already: 429 with `Retry-After`. */
export const TooManyUploadsError = createError<[number]>(
  'FST_SERVE_DIR_TOO_MANY_UPLOADS',
  'Too many uploads from your address at once (%d); send the next when one has finished',
  429
)

/** One client holds as many live reload streams as it may (`liveReload.maxStreamsPerClient`). */
export const TooManyStreamsError = createError<[number]>(
  'FST_SERVE_DIR_TOO_MANY_STREAMS',
  'Too many live reload streams from this client (at most %d): close a tab or try again later',
  429
)
