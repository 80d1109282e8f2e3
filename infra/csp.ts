// The web client's Content-Security-Policy, served by CloudFront on every file.
// Scripts only from the site itself, no eval, nothing framed, nothing posted
// elsewhere; the socket only to this deployment's WebSocket API.
export function contentSecurityPolicy(webSocketOrigin: string, filesOrigin: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // The emoji picker (emoji-picker-element) writes a <style> into its shadow root
    // and style attributes in its template; scripts stay strict.
    "style-src 'self' 'unsafe-inline'",
    // Shared images are presigned GETs from the files bucket (infra/files.ts).
    `img-src 'self' data: ${filesOrigin}`,
    "font-src 'self'",
    "manifest-src 'self'",
    // the service worker (/sw.js: the offline app shell, and notifications (E25)) comes from the site itself
    "worker-src 'self'",
    // 'self' for /config.json and the emoji data; the socket for the chat; the
    // files bucket for uploads (presigned POSTs).
    `connect-src 'self' ${webSocketOrigin} ${filesOrigin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    'upgrade-insecure-requests',
  ].join('; ');
}
