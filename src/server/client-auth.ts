import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * The API server's default client certificate name, as Gatekeeper assumes it
 * (its --client-cn-name defaults to "kube-apiserver").
 */
export const DEFAULT_CLIENT_CN = 'kube-apiserver';

/** `serve --client-ca FILE --client-cn NAME...`: who may post reviews. */
export interface ClientAuthOptions {
  caFile: string;
  /** Accepted subject CNs of the client certificate; [DEFAULT_CLIENT_CN] when empty. */
  commonNames: string[];
}

// The verdict of a connection, computed once: a keep-alive connection carries many reviews.
const VERDICT = Symbol('tenant-guard.clientVerdict');
type Judged = Socket & { [VERDICT]?: string | null };

/**
 * Why this connection's caller may not ask for a review, or undefined when it
 * may. The server asks every client for a certificate (requestCert) without
 * failing the handshake on a missing one (rejectUnauthorized false): the
 * kubelet's probes of /healthz and /readyz present none and must still get an
 * answer. The admission paths then require a certificate that chains to the
 * client CA (checked by OpenSSL during the handshake: `authorized`) and whose
 * subject CN is one of `names`. A client CA shared with other clients (the
 * cluster's own client CA signs every user's certificate) is safe only with
 * the CN check, which is why it is never optional.
 */
export function callerRefusal(socket: Socket, names: ReadonlySet<string>): string | undefined {
  const s = socket as Judged;
  let verdict = s[VERDICT];
  if (verdict === undefined) {
    verdict = judge(socket as TLSSocket, names);
    s[VERDICT] = verdict;
  }
  return verdict ?? undefined;
}

function judge(socket: TLSSocket, names: ReadonlySet<string>): string | null {
  if (typeof socket.getPeerCertificate !== 'function') return 'the connection is not TLS';
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return 'the client presented no certificate';
  if (!socket.authorized) return `the client certificate is not signed by the client CA (${String(socket.authorizationError)})`;
  const cn = peer.subject?.CN;
  const cns = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
  if (cns.length !== 1 || !names.has(cns[0]!)) return `the client certificate's CN ${JSON.stringify(cns.join(','))} is not one of ${[...names].map((n) => JSON.stringify(n)).join(', ')}`;
  return null;
}
