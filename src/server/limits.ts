// Limits of the HTTPS server, each next to the behaviour of the Kubernetes
// API server (the only client in production) that it is sized for.

/**
 * The API server refuses object bodies above 3 MiB
 * (k8s.io/apiserver: MaxRequestBodyBytes = 3 * 1024 * 1024). An UPDATE review
 * carries the object and oldObject, each up to that size, plus the envelope
 * (userInfo, kind, options): 7 MiB covers it. Bigger bodies get a 413.
 */
export const BODY_LIMIT_BYTES = 7 * 1024 * 1024;

/**
 * The API server's webhook client keeps idle connections for 90 s (Go's
 * http.DefaultTransport IdleConnTimeout, kept for webhook clients by
 * kubernetes/kubernetes#82090). If the server closed them first, the client could send a review on a
 * connection the server is closing and see "EOF"/"connection reset", which a
 * failurePolicy Fail webhook turns into a rejected write. Stay above 90 s.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 95_000;

/**
 * A webhook call is cut by the API server after timeoutSeconds, at most 30 s
 * (admissionregistration.k8s.io/v1 ValidatingWebhook.timeoutSeconds). A body
 * that takes longer to arrive is from no API server.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * How often Node looks for requests past their timeout (its default, 30 s,
 * let a slow body live up to a minute and a half). The check walks the open
 * connections, a cheap loop.
 */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;

/**
 * Bodies from this size on are parsed and judged one at a time, with the
 * event loop turning between them (serial-lane.ts): a review of a few
 * kilobytes takes well under a millisecond, one of several megabytes tens of
 * milliseconds, and several of those in a row would stall every small review.
 */
export const BIG_BODY_BYTES = 256 * 1024;

/**
 * Request-body bytes held or promised (by content-length) at once, across all
 * clients (body-budget.ts). Nine maximal UPDATE reviews; the API server sends
 * a few big reviews at a time at most, and the chart's 512 Mi limit keeps
 * room for the cluster state. Beyond it requests get a 503 at once.
 */
export const BODY_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Of the budget, what bodies from BIG_BODY_BYTES on may take: the last
 * 16 MiB stay for ordinary reviews (thousands of them), so big uploads, slow
 * or not, never starve the reviews of small objects.
 */
export const BIG_BODY_BUDGET_BYTES = 48 * 1024 * 1024;

/**
 * A body still arriving this long after its request started is slow: the API
 * server writes a review in one go over the cluster network, well within it.
 */
export const SLOW_BODY_MS = 5_000;

/** Slow bodies at once; beyond it the newest are cut (503, connection closed). */
export const MAX_SLOW_BODIES = 32;

/**
 * When a request finds the budget full, bodies still arriving slower than
 * this, STALLED_AFTER_MS or more after their request started (the API server
 * sends a review's body with its headers), are cut to make room
 * (slowest first), as Apache's mod_reqtimeout MinRate and nginx's
 * client_body_timeout do. The API server writes a review in one go over the
 * cluster network, at megabytes per second; a maximal 7 MiB body at this rate
 * would not even arrive within the 30 s request timeout. Without it, uploads
 * that announce just under BIG_BODY_BYTES and send nothing keep the small
 * bodies' share full by being younger than SLOW_BODY_MS, and every review
 * gets a 503. Small bodies (below BIG_BODY_BYTES) still arriving after
 * STALLED_AFTER_MS are cut whatever their rate: at this rate alone, one just
 * under BIG_BODY_BYTES could hold its reservation 4 s, and 64 of them
 * (4.4 MiB/s) kept the small share full. Big bodies must also be on pace
 * to arrive within SLOW_BODY_MS (7 MiB: 1.4 MiB/s), or seven uploads of
 * ~7 MiB at this rate (490 KiB/s) held the big share for the request timeout.
 */
export const MIN_BODY_BYTES_PER_S = 64 * 1024;
/**
 * Before this a body is not judged stalled. Short, so an attacker who closes
 * and reopens each upload before it counts as stalled pays a TLS handshake
 * per upload every half second: a connection flood, which the caller
 * authentication and the NetworkPolicy keep away, not a budget.
 */
export const STALLED_AFTER_MS = 500;

/**
 * An oversized body is read to its end and thrown away, so the client can
 * read its 413 (closing while it sends resets the connection); beyond this
 * much the connection is cut instead.
 */
export const BODY_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * TLS 1.2 minimum: the API server speaks TLS 1.2 and 1.3; older versions have
 * known weaknesses. HTTP/1.1 only: since Kubernetes 1.16 the API server calls
 * admission webhooks over HTTP/1.1 so that concurrent reviews spread over
 * several connections and pods (kubernetes/kubernetes#82090); serving no
 * HTTP/2 also avoids the rapid-reset class of attacks (CVE-2023-44487).
 */
export const TLS_MIN_VERSION = 'TLSv1.2';
export const ALPN_PROTOCOLS = ['http/1.1'];

/**
 * Default wait between failing /readyz and closing the listener on SIGTERM:
 * the endpoints controller and kube-proxy need a few seconds to stop sending
 * new connections to a terminating pod.
 */
export const DEFAULT_SHUTDOWN_DELAY_MS = 5_000;

/**
 * After the delay, the listener closes once no connection arrived for this
 * long (connections.ts closeListener): closing it resets the connections
 * still queued in the kernel.
 */
export const LISTENER_QUIET_MS = 200;

/** The longest wait for that quiet moment; then the queue is accepted and the listener closed regardless. */
export const LISTENER_QUIET_MAX_MS = 2_000;

/** After the delay, in-flight reviews get this long to finish (the API server waits at most 30 s). */
export const SHUTDOWN_GRACE_MS = 30_000;

/** Fallback poll for certificate and config files, for filesystems where fs.watch misses events. */
export const FILE_POLL_INTERVAL_MS = 10_000;

/** Wait for a burst of file events (a Secret volume's symlink swap is several) to settle. */
export const FILE_EVENT_DEBOUNCE_MS = 200;
